// Elementwise activation layers: ReLU (with Caffe's negative_slope), Sigmoid, TanH, ELU.
// All run in place (top[0] may be bottom[0]); backward then uses only the top's data, which is
// why negative_slope and alpha must be >= 0 (y > 0 exactly when x > 0).
#include "core/error.h"
#include "nn/layer_registry.h"

namespace digits {

namespace {

class ActivationLayer final : public Layer {
 public:
  ActivationLayer(const LayerConfig& config, const LayerContext& context, Activation activation,
                  float alpha)
      : Layer(config, context), activation_(activation), alpha_(alpha) {}

  bool supports_in_place() const override { return true; }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    if (top[0] != bottom[0]) top[0]->reshape(bottom[0]->shape());
  }

  // top = f(bottom)
  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    backend().activation_forward(activation_, alpha_, bottom[0]->count(), bottom[0]->data(),
                                 top[0]->data());
  }

  // bottom.grad = top.grad * f'(.), computed from the top's data only.
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    const float* y = top[0]->data();
    backend().activation_backward(activation_, alpha_, top[0]->count(), y, y, top[0]->grad(),
                                  bottom[0]->grad());
  }

 private:
  Activation activation_;
  float alpha_;
};

float non_negative(const LayerConfig& config, const char* key, double fallback) {
  double value = config.get_float(key, fallback);
  if (value < 0)
    config.fail_key(key, fmt::format("expected a number >= 0, got {} (backward recovers the "
                                     "sign of x from y, which needs a non-negative value)",
                                     value));
  return static_cast<float>(value);
}

}  // namespace

std::unique_ptr<Layer> make_relu_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<ActivationLayer>(config, context, Activation::relu,
                                           non_negative(config, "negative_slope", 0.0));
}

std::unique_ptr<Layer> make_sigmoid_layer(const LayerConfig& config,
                                          const LayerContext& context) {
  return std::make_unique<ActivationLayer>(config, context, Activation::sigmoid, 0.0f);
}

std::unique_ptr<Layer> make_tanh_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<ActivationLayer>(config, context, Activation::tanh, 0.0f);
}

std::unique_ptr<Layer> make_elu_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<ActivationLayer>(config, context, Activation::elu,
                                           non_negative(config, "alpha", 1.0));
}

}  // namespace digits
