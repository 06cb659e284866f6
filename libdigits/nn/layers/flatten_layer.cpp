// PLACEHOLDER: to be implemented (session scaffolding).
#include "core/error.h"
#include "nn/layer_registry.h"

namespace digits {

std::unique_ptr<Layer> make_flatten_layer(const LayerConfig& config, const LayerContext&) {
  config.fail_key(nullptr, "layer type not implemented yet");
}

}  // namespace digits
