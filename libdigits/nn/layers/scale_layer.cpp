// Scale (Caffe, one-bottom form): top = bottom * weight[c] (+ bias[c]) with c the index along
// `axis` (default 1, the channels). Parameters: "weight" (C), filled by `filler` (default
// constant 1), and with bias_term (default false) "bias" (C), filled by `bias_filler` (default
// constant 0). Usually follows BatchNorm to restore an affine transform.
//
// Runs in place (conv -> BatchNorm -> Scale -> ReLU on one blob): the weight's gradient needs x,
// so the layer keeps its own copy of it when top is bottom.
#include "core/error.h"
#include "nn/filler.h"
#include "nn/layer_registry.h"
#include "nn/layers/axis_and_labels.h"

namespace digits {

namespace {

FillerSpec constant_filler(double value) {
  FillerSpec spec;
  spec.type = "constant";
  spec.value = value;
  return spec;
}

class ScaleLayer final : public Layer {
 public:
  ScaleLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        axis_setting_(config.get_int("axis", 1)),
        bias_term_(config.get_bool("bias_term", false)),
        weight_filler_(parse_filler(config, "filler", constant_filler(1.0))),
        bias_filler_(parse_filler(config, "bias_filler", constant_filler(0.0))),
        x_copy_(Shape{0}, device()),
        dy_copy_(Shape{0}, device()),
        dx_discard_(Shape{0}, device()) {}

  bool supports_in_place() const override { return true; }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    const int axis = layer_detail::canonical_axis(config_, "axis", axis_setting_, x);
    outer_ = x.count(0, axis);
    channels_ = x.dim(axis);
    inner_ = x.count(axis + 1);
    if (params_.empty()) {
      make_param("weight", weight_filler_);
      if (bias_term_) make_param("bias", bias_filler_);
    } else if (params_[0].value.count() != channels_) {
      fail_layer(fmt::format("bottom shape {} has {} entries along axis {}, but the layer's "
                             "weight was made for {}",
                             x.shape_string(), channels_, axis, params_[0].value.count()));
    }
    if (top[0] != bottom[0]) top[0]->reshape(x.shape());
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    if (top[0] == bottom[0]) {
      x_copy_.reshape(bottom[0]->shape());
      backend().copy(bottom[0]->count(), bottom[0]->data(), x_copy_.data());
    }
    backend().channel_scale_forward(outer_, channels_, inner_, bottom[0]->data(),
                                    params_[0].value.data(),
                                    bias_term_ ? params_[1].value.data() : nullptr,
                                    top[0]->data());
  }

  // bottom.grad = dy * weight (`=`); weight.grad += sum dy * x; bias.grad += sum dy.
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    const bool in_place = top[0] == bottom[0];
    const float* x = in_place ? x_copy_.data() : bottom[0]->data();
    const float* dy = top[0]->grad();
    if (in_place) {
      // dx would overwrite dy while the backend reads it: hand it a separate copy.
      dy_copy_.reshape(top[0]->shape());
      backend().copy(top[0]->count(), dy, dy_copy_.data());
      dy = dy_copy_.data();
    }
    float* dx = nullptr;
    if (propagate_down[0] || in_place) {
      // In place the bottom's grad is the (already copied) top grad: overwriting it is harmless.
      dx = bottom[0]->grad();
    } else {
      dx_discard_.reshape(bottom[0]->shape());
      dx = dx_discard_.data();
    }
    backend().channel_scale_backward(outer_, channels_, inner_, x, params_[0].value.data(), dy,
                                     dx, params_[0].value.grad(),
                                     bias_term_ ? params_[1].value.grad() : nullptr);
  }

 private:
  void make_param(const char* name, const FillerSpec& filler) {
    Param param{name, Tensor(Shape{channels_}, device())};
    if (filler.type != "constant")
      DIGITS_CHECK(context_.rng != nullptr, "layer '{}': a {} filler needs an rng", this->name(),
                   filler.type);
    Rng unused(0);
    fill(filler, param.value, context_.rng ? *context_.rng : unused);
    params_.push_back(std::move(param));
  }

  int64_t axis_setting_;
  bool bias_term_;
  FillerSpec weight_filler_, bias_filler_;
  Tensor x_copy_;      // bottom's data, kept only when running in place
  Tensor dy_copy_;     // top's grad, copied only when running in place
  Tensor dx_discard_;  // receives dx when the bottom wants no gradient (the op always writes one)
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
};

}  // namespace

std::unique_ptr<Layer> make_scale_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<ScaleLayer>(config, context);
}

}  // namespace digits
