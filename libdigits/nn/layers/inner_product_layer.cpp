// InnerProduct (Caffe; PyTorch's Linear): bottom viewed as (M, K) with M the product of the
// axes before `axis` and K the product of `axis` and the axes after it (flattened);
// top (M..., num_output) = bottom * weight^T + bias.
//
// Keys, with Caffe's names and defaults: num_output (required), axis (1; negative counts from
// the end), bias_term (true), weight_filler and bias_filler (constant 0).
// Parameters: "weight" (num_output, K) and, with bias_term, "bias" (num_output): the layout
// Caffe and PyTorch store.
#include "core/error.h"
#include "nn/filler.h"
#include "nn/layer_registry.h"
#include "nn/layers/axis_and_labels.h"
#include "nn/layers/window_params.h"

namespace digits {

namespace {

class InnerProductLayer final : public Layer {
 public:
  InnerProductLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context) {
    if (!config.has("num_output"))
      fail_layer("missing required key `num_output` (the number of outputs)");
    num_output_ = config.get_int_at_least("num_output", 1, 1);
    axis_setting_ = config.get_int("axis", 1);
    bias_term_ = config.get_bool("bias_term", true);
    weight_filler_ = parse_filler(config, "weight_filler", layer_detail::constant_zero_filler());
    bias_filler_ = parse_filler(config, "bias_filler", layer_detail::constant_zero_filler());
  }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    const int axis = layer_detail::canonical_axis(config_, "axis", axis_setting_, x);
    m_ = x.count(0, axis);
    k_ = x.count(axis);
    if (k_ < 1)
      fail_layer(fmt::format("bottom shape {} has no inputs from axis {} on", x.shape_string(),
                             axis));
    const Shape weight_shape{num_output_, k_};
    if (params_.empty()) {
      params_.push_back(layer_detail::make_filled_param("weight", weight_shape, weight_filler_,
                                                        device(), context_.rng, name()));
      if (bias_term_)
        params_.push_back(layer_detail::make_filled_param("bias", Shape{num_output_},
                                                          bias_filler_, device(), context_.rng,
                                                          name()));
    } else if (params_[0].value.dim(1) != k_) {
      fail_layer(fmt::format("bottom shape {} has {} inputs from axis {} on, but the layer's "
                             "weight {} was made for {}",
                             x.shape_string(), k_, axis, params_[0].value.shape_string(),
                             params_[0].value.dim(1)));
    }
    Shape out(x.shape().begin(), x.shape().begin() + axis);
    out.push_back(num_output_);
    top[0]->reshape(out);
  }

  // top (M, num_output) = bottom (M, K) * weight^T (K, num_output) + bias
  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    float* y = top[0]->data();
    backend().gemm(false, true, m_, num_output_, k_, 1.0f, bottom[0]->data(),
                   params_[0].value.data(), 0.0f, y);
    if (bias_term_) backend().add_bias(m_, num_output_, 1, params_[1].value.data(), y);
  }

  // weight.grad (num_output, K) += top.grad^T (num_output, M) * bottom (M, K);
  // bias.grad += column sums of top.grad; bottom.grad (M, K) = top.grad (M, num_output) * weight.
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    const float* dy = top[0]->grad();
    Param& weight = params_[0];
    if (weight.learnable && weight.lr_mult != 0.0f)
      backend().gemm(true, false, num_output_, k_, m_, 1.0f, dy, bottom[0]->data(), 1.0f,
                     weight.value.grad());
    if (bias_term_ && params_[1].learnable && params_[1].lr_mult != 0.0f)
      backend().bias_backward(m_, num_output_, 1, dy, params_[1].value.grad());
    if (propagate_down[0])
      backend().gemm(false, false, m_, k_, num_output_, 1.0f, dy, weight.value.data(), 0.0f,
                     bottom[0]->grad());
  }

 private:
  int64_t num_output_ = 0, axis_setting_ = 1;
  bool bias_term_ = true;
  FillerSpec weight_filler_, bias_filler_;
  int64_t m_ = 0, k_ = 0;  // of the last reshape
};

}  // namespace

std::unique_ptr<Layer> make_inner_product_layer(const LayerConfig& config,
                                                const LayerContext& context) {
  return std::make_unique<InnerProductLayer>(config, context);
}

}  // namespace digits
