// LRN (Caffe's local response normalization across channels, as in AlexNet):
//   scale = k + alpha/local_size * sum of bottom^2 over local_size channels centred on c
//   top = bottom * scale^-beta
// Keys, with Caffe's names and defaults: local_size (5, odd), alpha (1), beta (0.75), k (1),
// norm_region (ACROSS_CHANNELS; WITHIN_CHANNEL is rejected: not implemented).
#include "core/error.h"
#include "nn/layer_registry.h"

namespace digits {

namespace {

class LrnLayer final : public Layer {
 public:
  LrnLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context), scale_(Shape{0}, device()) {
    params_lrn_.size = config.get_int_at_least("local_size", 5, 1);
    if (params_lrn_.size % 2 == 0)
      config.fail_key("local_size", fmt::format("expected an odd number (the window is centred "
                                                "on each channel), got {}",
                                                params_lrn_.size));
    params_lrn_.alpha = static_cast<float>(config.get_float("alpha", 1.0));
    params_lrn_.beta = static_cast<float>(config.get_float("beta", 0.75));
    params_lrn_.k = static_cast<float>(config.get_float("k", 1.0));
    if (params_lrn_.k <= 0.0f || params_lrn_.alpha < 0.0f)
      fail_layer(fmt::format("LRN needs k > 0 and alpha >= 0 (the scale must stay positive), got "
                             "k {} and alpha {}",
                             params_lrn_.k, params_lrn_.alpha));
    const std::string region = config.get_string("norm_region", "ACROSS_CHANNELS");
    if (region == "WITHIN_CHANNEL" || region == "within_channel")
      config.fail_key("norm_region", "WITHIN_CHANNEL is not implemented; only ACROSS_CHANNELS "
                                     "(the default, used by AlexNet and CaffeNet)");
    if (region != "ACROSS_CHANNELS" && region != "across_channels")
      config.fail_key("norm_region",
                      fmt::format("expected ACROSS_CHANNELS, got \"{}\"", region));
  }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    if (x.num_axes() != 4)
      fail_layer(fmt::format("expected a 4-D bottom (N, C, H, W), got shape {}",
                             x.shape_string()));
    top[0]->reshape(x.shape());
    scale_.reshape(x.shape());
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    backend().lrn_forward(params_lrn_, x.dim(0), x.dim(1), x.dim(2), x.dim(3), x.data(),
                          scale_.data(), top[0]->data());
  }

  // bottom.grad = the gradient of LRN given top.grad (`=`).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    Tensor& x = *bottom[0];
    backend().lrn_backward(params_lrn_, x.dim(0), x.dim(1), x.dim(2), x.dim(3), x.data(),
                           top[0]->data(), scale_.data(), top[0]->grad(), x.grad());
  }

 private:
  LrnParams params_lrn_;
  Tensor scale_;  // (N, C, H, W) k + alpha/size * window sum of squares, kept for backward
};

}  // namespace

std::unique_ptr<Layer> make_lrn_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<LrnLayer>(config, context);
}

}  // namespace digits
