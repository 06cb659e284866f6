// BatchNorm (Caffe): normalizes each channel (axis 1) over the batch and spatial positions, with
// no affine part (a Scale layer follows for that). Keys:
//   use_global_stats         normalize with the running statistics instead of the batch's;
//                            default: false in the train phase, true in val and deploy
//   moving_average_fraction  momentum of the running statistics (default 0.999):
//                            running = momentum * running + (1 - momentum) * batch
//   eps                      added to the variance (default 1e-5)
// Parameters: running_mean and running_var, shape (C), initialized to 0 and 1. They are
// statistics, not weights: learnable = false, lr_mult = decay_mult = 0. Nothing else is stored.
//
// Runs in place (Caffe nets write conv -> BatchNorm -> Scale -> ReLU on one blob): the
// train-mode backward needs x, so the layer keeps its own copy of it when top is bottom.
#include <cmath>

#include "core/error.h"
#include "nn/layer_registry.h"

namespace digits {

namespace {

class BatchNormLayer final : public Layer {
 public:
  BatchNormLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        has_global_setting_(config.has("use_global_stats")),
        global_setting_(config.get_bool("use_global_stats", false)),
        momentum_(config.get_float("moving_average_fraction", 0.999)),
        eps_(config.get_float("eps", 1e-5)),
        save_mean_(Shape{0}, device()),
        save_invstd_(Shape{0}, device()),
        x_copy_(Shape{0}, device()),
        dy_copy_(Shape{0}, device()) {
    if (momentum_ < 0.0 || momentum_ > 1.0)
      config.fail_key("moving_average_fraction",
                      fmt::format("expected a number in [0, 1], got {}", momentum_));
    if (eps_ <= 0.0) config.fail_key("eps", fmt::format("expected a number > 0, got {}", eps_));
  }

  bool supports_in_place() const override { return true; }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    if (x.num_axes() < 1 || x.dim(0) < 1 || x.count() == 0)
      fail_layer(fmt::format("bottom shape {} has no batch to normalize", x.shape_string()));
    num_ = x.dim(0);
    channels_ = x.num_axes() > 1 ? x.dim(1) : 1;
    spatial_ = x.num_axes() > 2 ? x.count(2) : 1;
    if (params_.empty()) {
      Param mean{"running_mean", Tensor(Shape{channels_}, device()), 0.0f, 0.0f, false};
      Param var{"running_var", Tensor(Shape{channels_}, device()), 0.0f, 0.0f, false};
      backend().set(channels_, 0.0f, mean.value.data());
      backend().set(channels_, 1.0f, var.value.data());
      params_.push_back(std::move(mean));
      params_.push_back(std::move(var));
    } else if (params_[0].value.count() != channels_) {
      fail_layer(fmt::format("bottom shape {} has {} channels, but the layer's statistics were "
                             "made for {}",
                             x.shape_string(), channels_, params_[0].value.count()));
    }
    save_mean_.reshape(Shape{channels_});
    save_invstd_.reshape(Shape{channels_});
    if (top[0] != bottom[0]) top[0]->reshape(x.shape());
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const int64_t n = bottom[0]->count();
    global_in_forward_ = use_global_stats();
    float* running_mean = params_[0].value.data();
    float* running_var = params_[1].value.data();
    if (global_in_forward_) {
      backend().batchnorm_forward_inference(num_, channels_, spatial_, static_cast<float>(eps_),
                                            bottom[0]->data(), running_mean, running_var,
                                            top[0]->data());
      return;
    }
    const float* x = bottom[0]->data();
    if (top[0] == bottom[0]) {
      x_copy_.reshape(bottom[0]->shape());
      backend().copy(n, bottom[0]->data(), x_copy_.data());
      x = x_copy_.data();
    }
    backend().batchnorm_forward_train(num_, channels_, spatial_, static_cast<float>(eps_),
                                      static_cast<float>(momentum_), x, top[0]->data(),
                                      running_mean, running_var, save_mean_.data(),
                                      save_invstd_.data());
  }

  // Batch statistics: bottom.grad = invstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
  // Global statistics (constants): bottom.grad = dy / sqrt(running_var + eps).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    const bool in_place = top[0] == bottom[0];
    const float* dy = top[0]->grad();
    if (in_place) {
      // dx would overwrite dy while the backend reads it: give the backend a separate copy
      // rather than rely on every backend tolerating the alias.
      dy_copy_.reshape(top[0]->shape());
      backend().copy(top[0]->count(), dy, dy_copy_.data());
      dy = dy_copy_.data();
    }
    if (global_in_forward_) {
      // Per-channel 1/sqrt(var + eps) computed on the host (C values) into save_invstd_.
      std::vector<float> running_var = params_[1].value.host_data();
      std::vector<float> invstd(channels_);
      for (int64_t c = 0; c < channels_; ++c)
        invstd[c] = static_cast<float>(1.0 / std::sqrt(double(running_var[c]) + eps_));
      save_invstd_.set_data(invstd);
      backend().channel_scale_forward(num_, channels_, spatial_, dy, save_invstd_.data(), nullptr,
                                      bottom[0]->grad());
      return;
    }
    const float* x = in_place ? x_copy_.data() : bottom[0]->data();
    backend().batchnorm_backward(num_, channels_, spatial_, x, dy, save_mean_.data(),
                                 save_invstd_.data(), bottom[0]->grad());
  }

 private:
  bool use_global_stats() const {
    return has_global_setting_ ? global_setting_ : phase() != Phase::train;
  }

  bool has_global_setting_;
  bool global_setting_;
  double momentum_;
  double eps_;
  Tensor save_mean_;    // (C) batch mean of the last train-mode forward
  Tensor save_invstd_;  // (C) its 1/sqrt(var + eps)
  Tensor x_copy_;       // bottom's data, kept only when running in place
  Tensor dy_copy_;      // top's grad, copied only when running in place
  bool global_in_forward_ = false;
  int64_t num_ = 0, channels_ = 0, spatial_ = 0;
};

}  // namespace

std::unique_ptr<Layer> make_batchnorm_layer(const LayerConfig& config,
                                            const LayerContext& context) {
  return std::make_unique<BatchNormLayer>(config, context);
}

}  // namespace digits
