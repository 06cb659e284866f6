// Eltwise (Caffe): combines 2 or more bottoms of one shape elementwise.
//   operation: SUM (default; top = sum coeff[i] * bottom[i], coeff a list with one number per
//              bottom, default all 1) | PROD (top = product) | MAX (top = maximum; the first
//              bottom holding it gets the gradient).
#include <limits>

#include "core/error.h"
#include "nn/layer_registry.h"

namespace digits {

namespace {

EltwiseOp parse_operation(const LayerConfig& config) {
  std::string value = config.get_choice("operation", "SUM", {"SUM", "PROD", "MAX"});
  if (value == "PROD") return EltwiseOp::prod;
  if (value == "MAX") return EltwiseOp::max;
  return EltwiseOp::sum;
}

class EltwiseLayer final : public Layer {
 public:
  EltwiseLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        op_(parse_operation(config)),
        argmax_(Shape{0}, device()) {
    for (double c : config.get_floats("coeff")) coeffs_.push_back(static_cast<float>(c));
    if (!coeffs_.empty() && op_ != EltwiseOp::sum)
      config.fail_key("coeff", "coefficients apply only to operation SUM");
  }

  int min_bottoms() const override { return 2; }
  int max_bottoms() const override { return std::numeric_limits<int>::max(); }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    for (size_t i = 1; i < bottom.size(); ++i)
      if (bottom[i]->shape() != bottom[0]->shape())
        fail_layer(fmt::format("bottom[{}] has shape {} but bottom[0] has shape {}: Eltwise "
                               "needs equal shapes",
                               i, bottom[i]->shape_string(), bottom[0]->shape_string()));
    if (!coeffs_.empty() && coeffs_.size() != bottom.size())
      config_.fail_key("coeff", fmt::format("{} coefficients for {} bottoms: give one per bottom",
                                            coeffs_.size(), bottom.size()));
    if (op_ == EltwiseOp::max) argmax_.reshape(bottom[0]->shape());
    top[0]->reshape(bottom[0]->shape());
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    inputs_.clear();
    for (Tensor* b : bottom) inputs_.push_back(b->data());
    backend().eltwise_forward(op_, top[0]->count(), static_cast<int>(inputs_.size()),
                              inputs_.data(), coeffs_.empty() ? nullptr : coeffs_.data(),
                              top[0]->data(), op_ == EltwiseOp::max ? argmax_.data() : nullptr);
  }

  // SUM: bottom[i].grad = coeff[i] * dy. MAX: dy where bottom[i] won, else 0.
  // PROD: dy * product of the other bottoms, computed as a forward product of (dy, others):
  // exact even where bottom[i] is 0 (y / x would divide by zero there).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    const int64_t n = top[0]->count();
    const float* dy = top[0]->grad();
    for (size_t i = 0; i < bottom.size(); ++i) {
      if (!propagate_down[i]) continue;
      float* dx = bottom[i]->grad();
      if (op_ == EltwiseOp::prod) {
        inputs_.clear();
        inputs_.push_back(dy);
        for (size_t j = 0; j < bottom.size(); ++j)
          if (j != i) inputs_.push_back(bottom[j]->data());
        backend().eltwise_forward(EltwiseOp::prod, n, static_cast<int>(inputs_.size()),
                                  inputs_.data(), nullptr, dx, nullptr);
      } else {
        const float coeff = coeffs_.empty() ? 1.0f : coeffs_[i];
        backend().eltwise_backward(op_, n, static_cast<int>(i), bottom[i]->data(),
                                   top[0]->data(), dy, coeff,
                                   op_ == EltwiseOp::max ? argmax_.data() : nullptr, dx);
      }
    }
  }

 private:
  EltwiseOp op_;
  std::vector<float> coeffs_;          // host; empty: all 1
  Tensor argmax_;                      // MAX only: winning bottom index per element
  std::vector<const float*> inputs_;  // host array of backend pointers, reused per call
};

}  // namespace

std::unique_ptr<Layer> make_eltwise_layer(const LayerConfig& config,
                                          const LayerContext& context) {
  return std::make_unique<EltwiseLayer>(config, context);
}

}  // namespace digits
