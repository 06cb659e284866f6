#include "nn/layers/input_layer.h"

#include "core/error.h"
#include "nn/layer_registry.h"
#include "nn/net_spec.h"

namespace digits {

std::vector<Shape> input_layer_shapes(const LayerConfig& config) {
  if (!config.has("shape"))
    config.fail_key(nullptr, "missing `shape`: the per-sample shape of each top, such as "
                             "[1, 28, 28]");
  YAML::Node node = config.node("shape");
  std::vector<Shape> shapes;
  auto add = [&](const YAML::Node& item) {
    Shape shape;
    std::string error = check_sample_shape(item, &shape);
    if (!error.empty()) config.fail_key("shape", error);
    shapes.push_back(shape);
  };
  // A list whose first element is itself a list is a list of shapes; otherwise one shape.
  if (node.IsSequence() && node.size() > 0 && node[0].IsSequence()) {
    for (const auto& item : node) add(item);
  } else {
    add(node);
  }
  return shapes;
}

InputLayer::InputLayer(const LayerConfig& config, const LayerContext& context)
    : Layer(config, context), shapes_(input_layer_shapes(config)) {
  if (shapes_.size() != config.tops.size())
    fail_layer(fmt::format("shape: {} shape(s) for {} top(s); give one shape per top",
                           shapes_.size(), config.tops.size()));
}

void InputLayer::set_batch_size(int64_t batch_size) {
  if (batch_size < 1) fail_layer(fmt::format("batch size must be positive, got {}", batch_size));
  batch_size_ = batch_size;
}

void InputLayer::reshape(const std::vector<Tensor*>&, const std::vector<Tensor*>& top) {
  DIGITS_CHECK(top.size() == shapes_.size(), "Input '{}': {} tops for {} shapes", name(),
               top.size(), shapes_.size());
  for (size_t i = 0; i < top.size(); ++i) {
    Shape shape = {batch_size_};
    shape.insert(shape.end(), shapes_[i].begin(), shapes_[i].end());
    top[i]->reshape(shape);
  }
}

void InputLayer::forward(const std::vector<Tensor*>&, const std::vector<Tensor*>&) {}

void InputLayer::backward(const std::vector<Tensor*>&, const std::vector<bool>&,
                          const std::vector<Tensor*>&) {}

std::unique_ptr<Layer> make_input_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<InputLayer>(config, context);
}

}  // namespace digits
