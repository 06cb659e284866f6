// Dropout (Caffe, inverted): in the train phase each element is kept with probability
// 1 - dropout_ratio (default 0.5) and scaled by 1 / (1 - dropout_ratio), so val and deploy
// phases are the identity.
//
// The mask is counter-based: seed = the net's seed mixed with a hash of the layer's name,
// offset = iteration * count. A forward is therefore repeatable for a given iteration (resume is
// exact, the gradient check works), each dropout layer draws its own mask, and every backend
// draws the same one. Runs in place: backward needs only the mask.
#include <string_view>

#include "core/error.h"
#include "core/rng.h"
#include "nn/layer_registry.h"

namespace digits {

namespace {

// FNV-1a: a stable 64-bit hash of the layer's name (std::hash may differ between libraries).
uint64_t name_hash(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char ch : name) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  return h;
}

class DropoutLayer final : public Layer {
 public:
  DropoutLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        ratio_(config.get_float("dropout_ratio", 0.5)),
        layer_seed_(splitmix64(context.seed ^ name_hash(config.name))),
        mask_(Shape{0}, device()) {
    if (ratio_ < 0.0 || ratio_ >= 1.0)
      config.fail_key("dropout_ratio",
                      fmt::format("expected a probability in [0, 1), got {}", ratio_));
  }

  bool supports_in_place() const override { return true; }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    mask_.reshape(bottom[0]->shape());
    if (top[0] != bottom[0]) top[0]->reshape(bottom[0]->shape());
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const int64_t n = bottom[0]->count();
    train_in_forward_ = phase() == Phase::train;
    if (!train_in_forward_) {
      if (top[0] != bottom[0]) backend().copy(n, bottom[0]->data(), top[0]->data());
      return;
    }
    const uint64_t offset = iteration() * static_cast<uint64_t>(n);
    backend().dropout_forward(n, static_cast<float>(ratio_), layer_seed_, offset,
                              bottom[0]->data(), mask_.data(), top[0]->data());
  }

  // bottom.grad = top.grad * mask (train), top.grad (otherwise).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = top[0]->count();
    if (train_in_forward_)
      backend().dropout_backward(n, mask_.data(), top[0]->grad(), bottom[0]->grad());
    else if (top[0] != bottom[0])
      backend().copy(n, top[0]->grad(), bottom[0]->grad());
  }

 private:
  double ratio_;
  uint64_t layer_seed_;
  Tensor mask_;  // 0 or 1/(1-ratio) per element, from the last train-phase forward
  bool train_in_forward_ = false;
};

}  // namespace

std::unique_ptr<Layer> make_dropout_layer(const LayerConfig& config,
                                          const LayerContext& context) {
  return std::make_unique<DropoutLayer>(config, context);
}

}  // namespace digits
