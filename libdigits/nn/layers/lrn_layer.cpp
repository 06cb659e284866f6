// LRN (Caffe's local response normalization), top = bottom * scale^-beta, with
//   ACROSS_CHANNELS (default; AlexNet): scale = k + alpha/local_size * sum of bottom^2 over the
//     local_size channels centred on c (backend op lrn_forward/lrn_backward);
//   WITHIN_CHANNEL (Caffe's cifar10_full): scale = 1 + alpha/local_size^2 * sum of bottom^2 over
//     the local_size x local_size square centred on (y, x) in the same channel, zero outside
//     the plane. Caffe builds it from other layers (square, average pooling with pad
//     (local_size-1)/2 and stride 1, power with shift 1, product); so do we, from the backend ops
//     behind those layers. Caffe ignores k there (the shift is 1), so k other than 1 is rejected.
// Keys, with Caffe's names and defaults: local_size (5, odd), alpha (1), beta (0.75), k (1),
// norm_region (ACROSS_CHANNELS | WITHIN_CHANNEL).
#include "core/error.h"
#include "nn/layer_registry.h"

namespace digits {

namespace {

class LrnLayer final : public Layer {
 public:
  LrnLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        scale_(Shape{0}, device()),
        square_(Shape{0}, device()),
        window_mean_(Shape{0}, device()) {
    params_lrn_.size = config.get_int_at_least("local_size", 5, 1);
    if (params_lrn_.size % 2 == 0)
      config.fail_key("local_size", fmt::format("expected an odd number (the window is centred "
                                                "on each position), got {}",
                                                params_lrn_.size));
    params_lrn_.alpha = static_cast<float>(config.get_float("alpha", 1.0));
    params_lrn_.beta = static_cast<float>(config.get_float("beta", 0.75));
    params_lrn_.k = static_cast<float>(config.get_float("k", 1.0));
    const std::string region = config.get_string("norm_region", "ACROSS_CHANNELS");
    if (region == "WITHIN_CHANNEL" || region == "within_channel") {
      within_channel_ = true;
      if (params_lrn_.k != 1.0f)
        config.fail_key("k", fmt::format("Caffe's WITHIN_CHANNEL LRN ignores k (its shift is "
                                         "always 1); remove k or set it to 1, got {}",
                                         params_lrn_.k));
    } else if (region != "ACROSS_CHANNELS" && region != "across_channels") {
      config.fail_key("norm_region", fmt::format("expected ACROSS_CHANNELS or WITHIN_CHANNEL, got "
                                                 "\"{}\"",
                                                 region));
    }
    if (params_lrn_.k <= 0.0f || params_lrn_.alpha < 0.0f)
      fail_layer(fmt::format("LRN needs k > 0 and alpha >= 0 (the scale must stay positive), got "
                             "k {} and alpha {}",
                             params_lrn_.k, params_lrn_.alpha));
  }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    if (x.num_axes() != 4)
      fail_layer(fmt::format("expected a 4-D bottom (N, C, H, W), got shape {}",
                             x.shape_string()));
    top[0]->reshape(x.shape());
    scale_.reshape(x.shape());
    if (within_channel_) {
      square_.reshape(x.shape());
      window_mean_.reshape(x.shape());
      pool_.n = x.dim(0);
      pool_.c = x.dim(1);
      pool_.h = x.dim(2);
      pool_.w = x.dim(3);
      pool_.kh = pool_.kw = params_lrn_.size;
      pool_.sh = pool_.sw = 1;
      pool_.ph = pool_.pw = (params_lrn_.size - 1) / 2;
      pool_.method = PoolMethod::average;
    }
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    if (!within_channel_) {
      backend().lrn_forward(params_lrn_, x.dim(0), x.dim(1), x.dim(2), x.dim(3), x.data(),
                            scale_.data(), top[0]->data());
      return;
    }
    // Within a channel, scale_ holds the factor (1 + alpha * window mean of x^2)^-beta itself.
    // Every window of the pooling lies inside the padded plane, so the mean divides by
    // local_size^2 everywhere, as Caffe's.
    const int64_t n = x.count();
    Backend& be = backend();
    be.power_forward(n, 2.0f, 1.0f, 0.0f, x.data(), square_.data());
    be.pool_forward(pool_, square_.data(), window_mean_.data(), nullptr);
    be.power_forward(n, -params_lrn_.beta, params_lrn_.alpha, 1.0f, window_mean_.data(),
                     scale_.data());
    const float* factors[2] = {x.data(), scale_.data()};
    be.eltwise_forward(EltwiseOp::prod, n, 2, factors, nullptr, top[0]->data(), nullptr);
  }

  // bottom.grad = the gradient of LRN given top.grad (`=`).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    Tensor& x = *bottom[0];
    if (!within_channel_) {
      backend().lrn_backward(params_lrn_, x.dim(0), x.dim(1), x.dim(2), x.dim(3), x.data(),
                             top[0]->data(), scale_.data(), top[0]->grad(), x.grad());
      return;
    }
    // Back through the chain, the grads of the intermediate tensors as scratch:
    //   d factor = dy * x; d mean = power'(mean) * d factor; d square = pool'(d mean);
    //   dx = dy * factor + 2 x * d square.
    const int64_t n = x.count();
    Backend& be = backend();
    const float* dy = top[0]->grad();
    const float* dy_times_x[2] = {dy, x.data()};
    be.eltwise_forward(EltwiseOp::prod, n, 2, dy_times_x, nullptr, scale_.grad(), nullptr);
    be.power_backward(n, -params_lrn_.beta, params_lrn_.alpha, 1.0f, window_mean_.data(),
                      scale_.data(), scale_.grad(), window_mean_.grad());
    be.pool_backward(pool_, square_.data(), window_mean_.data(), window_mean_.grad(), nullptr,
                     square_.grad());
    // Through the square: 2 x * d square, into window_mean_'s grad (no longer needed).
    be.power_backward(n, 2.0f, 1.0f, 0.0f, x.data(), square_.data(), square_.grad(),
                      window_mean_.grad());
    const float* dy_times_factor[2] = {dy, scale_.data()};
    be.eltwise_forward(EltwiseOp::prod, n, 2, dy_times_factor, nullptr, x.grad(), nullptr);
    be.axpy(n, 1.0f, window_mean_.grad(), x.grad());
  }

 private:
  LrnParams params_lrn_;
  bool within_channel_ = false;
  // (N, C, H, W). Across channels: k + alpha/size * window sum of squares, kept for backward.
  // Within a channel: the factor (1 + alpha * window mean of squares)^-beta.
  Tensor scale_;
  Tensor square_, window_mean_;  // within a channel only: x^2 and its window mean
  PoolShape pool_;               // within a channel only: the averaging window
};

}  // namespace

std::unique_ptr<Layer> make_lrn_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<LrnLayer>(config, context);
}

}  // namespace digits
