// Power (Caffe): top = (shift + scale * bottom) ^ power. Not in place: backward reads x.
#include "core/error.h"
#include "nn/layer_registry.h"

namespace digits {

namespace {

class PowerLayer final : public Layer {
 public:
  PowerLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        power_(static_cast<float>(config.get_float("power", 1.0))),
        scale_(static_cast<float>(config.get_float("scale", 1.0))),
        shift_(static_cast<float>(config.get_float("shift", 0.0))) {}

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    if (top[0] == bottom[0])
      fail_layer("cannot run in place (its backward needs the bottom's data); give it a top "
                 "of its own");
    top[0]->reshape(bottom[0]->shape());
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    backend().power_forward(bottom[0]->count(), power_, scale_, shift_, bottom[0]->data(),
                            top[0]->data());
  }

  // bottom.grad = top.grad * power * scale * (shift + scale * bottom) ^ (power - 1)
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    backend().power_backward(bottom[0]->count(), power_, scale_, shift_, bottom[0]->data(),
                             top[0]->data(), top[0]->grad(), bottom[0]->grad());
  }

 private:
  float power_, scale_, shift_;
};

}  // namespace

std::unique_ptr<Layer> make_power_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<PowerLayer>(config, context);
}

}  // namespace digits
