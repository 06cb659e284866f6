// Convolution (Caffe): top (N, K, OH, OW) = conv(bottom (N, C, H, W), weight) + bias.
//
// Keys, with Caffe's names and defaults: num_output (K, required), kernel_size or
// kernel_h/kernel_w (required), stride or stride_h/stride_w (1), pad or pad_h/pad_w (0),
// dilation (1), group (1; must divide C and K), bias_term (true), weight_filler and bias_filler
// (constant 0). Each of kernel_size, stride, pad and dilation takes one value or [h, w].
// Parameters: "weight" (K, C/group, kh, kw) and, with bias_term, "bias" (K): the layout Caffe and
// PyTorch store. Output size: floor((H + 2 pad - (dilation (kernel - 1) + 1)) / stride) + 1.
#include "core/error.h"
#include "nn/filler.h"
#include "nn/layer_registry.h"
#include "nn/layers/window_params.h"

namespace digits {

namespace {

using layer_detail::HeightWidth;

class ConvolutionLayer final : public Layer {
 public:
  ConvolutionLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context) {
    if (!config.has("num_output"))
      fail_layer("missing required key `num_output` (the number of output channels)");
    num_output_ = config.get_int_at_least("num_output", 1, 1);
    kernel_ = layer_detail::read_height_width(config, "kernel_size", "kernel_h", "kernel_w", 0, 1,
                                              true);
    stride_ =
        layer_detail::read_height_width(config, "stride", "stride_h", "stride_w", 1, 1, false);
    pad_ = layer_detail::read_height_width(config, "pad", "pad_h", "pad_w", 0, 0, false);
    dilation_ = layer_detail::read_height_width(config, "dilation", nullptr, nullptr, 1, 1, false);
    group_ = config.get_int_at_least("group", 1, 1);
    if (num_output_ % group_ != 0)
      config.fail_key("group", fmt::format("group {} does not divide num_output {}", group_,
                                           num_output_));
    bias_term_ = config.get_bool("bias_term", true);
    weight_filler_ = parse_filler(config, "weight_filler", layer_detail::constant_zero_filler());
    bias_filler_ = parse_filler(config, "bias_filler", layer_detail::constant_zero_filler());
  }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    if (x.num_axes() != 4)
      fail_layer(fmt::format("expected a 4-D bottom (N, C, H, W), got shape {}",
                             x.shape_string()));
    ConvShape s;
    s.n = x.dim(0);
    s.c = x.dim(1);
    s.h = x.dim(2);
    s.w = x.dim(3);
    s.k = num_output_;
    s.kh = kernel_.h;
    s.kw = kernel_.w;
    s.sh = stride_.h;
    s.sw = stride_.w;
    s.ph = pad_.h;
    s.pw = pad_.w;
    s.dh = dilation_.h;
    s.dw = dilation_.w;
    s.groups = group_;
    if (s.c % group_ != 0)
      fail_layer(fmt::format("group {} does not divide the bottom's {} channels (bottom shape {})",
                             group_, s.c, x.shape_string()));
    if (s.out_h() < 1 || s.out_w() < 1)
      fail_layer(fmt::format("kernel {}x{} (dilation {}x{}: spans {}x{}) is larger than the "
                             "padded input {}x{} (bottom shape {}, pad {}x{})",
                             s.kh, s.kw, s.dh, s.dw, s.dh * (s.kh - 1) + 1, s.dw * (s.kw - 1) + 1,
                             s.h + 2 * s.ph, s.w + 2 * s.pw, x.shape_string(), s.ph, s.pw));
    const Shape weight_shape{s.k, s.c / group_, s.kh, s.kw};
    if (params_.empty()) {
      params_.push_back(layer_detail::make_filled_param("weight", weight_shape, weight_filler_,
                                                        device(), context_.rng, name()));
      if (bias_term_)
        params_.push_back(layer_detail::make_filled_param("bias", Shape{s.k}, bias_filler_,
                                                          device(), context_.rng, name()));
    } else if (params_[0].value.shape() != weight_shape) {
      fail_layer(fmt::format("bottom shape {} needs a weight of shape {}, but the layer's weight "
                             "has shape {} (the input's channels changed)",
                             x.shape_string(), shape_string(weight_shape),
                             params_[0].value.shape_string()));
    }
    shape_ = s;
    top[0]->reshape({s.n, s.k, s.out_h(), s.out_w()});
  }

  // top = conv(bottom, weight) + bias
  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    backend().conv_forward(shape_, bottom[0]->data(), params_[0].value.data(),
                           bias_term_ ? params_[1].value.data() : nullptr, top[0]->data());
  }

  // weight.grad += correlation(bottom, top.grad); bias.grad += sum of top.grad;
  // bottom.grad = conv_transpose(top.grad, weight) when propagate_down[0].
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    const float* dy = top[0]->grad();
    Param& weight = params_[0];
    Param* bias = bias_term_ ? &params_[1] : nullptr;
    const bool weight_grad = weight.learnable && weight.lr_mult != 0.0f;
    const bool bias_grad = bias && bias->learnable && bias->lr_mult != 0.0f;
    if (weight_grad) {
      backend().conv_backward_filter(shape_, bottom[0]->data(), dy, weight.value.grad(),
                                     bias_grad ? bias->value.grad() : nullptr);
    } else if (bias_grad) {
      backend().bias_backward(shape_.n, shape_.k, shape_.out_h() * shape_.out_w(), dy,
                              bias->value.grad());
    }
    if (propagate_down[0])
      backend().conv_backward_data(shape_, weight.value.data(), dy, bottom[0]->grad());
  }

 private:
  int64_t num_output_ = 0, group_ = 1;
  HeightWidth kernel_, stride_, pad_, dilation_;
  bool bias_term_ = true;
  FillerSpec weight_filler_, bias_filler_;
  ConvShape shape_;  // of the last reshape
};

}  // namespace

std::unique_ptr<Layer> make_convolution_layer(const LayerConfig& config,
                                              const LayerContext& context) {
  return std::make_unique<ConvolutionLayer>(config, context);
}

}  // namespace digits
