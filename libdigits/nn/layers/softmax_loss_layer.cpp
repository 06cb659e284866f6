// SoftmaxWithLoss (Caffe): softmax over `axis` (default 1) of bottom[0] (scores), then the mean
// cross-entropy against bottom[1] (class labels, one per position of the other axes: (N) for
// classification, (N, H, W) or (N, 1, H, W) for segmentation).
//
// top[0] is the scalar loss; an optional top[1] receives the probabilities. normalization says
// what the summed loss is divided by: VALID (default) the number of non-ignored positions,
// BATCH_SIZE the outer count (N), FULL every position, NONE nothing. Positions labelled
// ignore_label (when given) contribute neither loss nor gradient.
//
// Backward: bottom[0].grad = loss_weight / normalizer * (prob - onehot(label)), where
// loss_weight is top[0].grad[0] as seeded by the net. Labels get no gradient.
#include <algorithm>

#include "core/error.h"
#include "nn/layer_registry.h"
#include "nn/layers/axis_and_labels.h"

namespace digits {

namespace {

enum class Normalization { valid, batch_size, full, none };

Normalization parse_normalization(const LayerConfig& config) {
  std::string value =
      config.get_choice("normalization", "VALID", {"VALID", "BATCH_SIZE", "FULL", "NONE"});
  if (value == "BATCH_SIZE") return Normalization::batch_size;
  if (value == "FULL") return Normalization::full;
  if (value == "NONE") return Normalization::none;
  return Normalization::valid;
}

class SoftmaxLossLayer final : public Layer {
 public:
  SoftmaxLossLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        axis_setting_(config.get_int("axis", 1)),
        has_ignore_(config.has("ignore_label")),
        ignore_label_(layer_detail::ignore_label_setting(config)),
        normalization_(parse_normalization(config)),
        prob_(Shape{0}, context.backend->device()) {}

  int min_bottoms() const override { return 2; }
  int max_bottoms() const override { return 2; }
  int max_tops() const override { return 2; }
  bool is_loss() const override { return true; }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& scores = *bottom[0];
    const auto view = layer_detail::labelled_scores(config_, axis_setting_, scores, *bottom[1]);
    outer_ = view.outer;
    channels_ = view.channels;
    inner_ = view.inner;
    prob_.reshape(scores.shape());
    top[0]->reshape(Shape{});
    if (top.size() > 1) top[1]->reshape(scores.shape());
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    backend().softmax_forward(outer_, channels_, inner_, bottom[0]->data(), prob_.data());
    int64_t valid = 0;
    double loss = 0;
    layer_detail::with_label_context(config_, has_ignore_, ignore_label_, [&] {
      loss = backend().softmax_loss_forward(outer_, channels_, inner_, prob_.data(),
                                            bottom[1]->data(), has_ignore_, ignore_label_, &valid);
    });
    normalizer_ = normalizer(valid);
    top[0]->set_data({static_cast<float>(loss / normalizer_)});
    if (top.size() > 1) backend().copy(prob_.count(), prob_.data(), top[1]->data());
  }

  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    const double loss_weight = top[0]->host_grad()[0];
    backend().softmax_loss_backward(outer_, channels_, inner_, prob_.data(), bottom[1]->data(),
                                    has_ignore_, ignore_label_,
                                    static_cast<float>(loss_weight / normalizer_),
                                    bottom[0]->grad());
  }

 private:
  // At least 1, as Caffe: a batch whose positions are all ignored has loss 0, not 0/0.
  double normalizer(int64_t valid) const {
    double n = 1.0;
    switch (normalization_) {
      case Normalization::valid: n = static_cast<double>(valid); break;
      case Normalization::batch_size: n = static_cast<double>(outer_); break;
      case Normalization::full: n = static_cast<double>(outer_ * inner_); break;
      case Normalization::none: n = 1.0; break;
    }
    return std::max(n, 1.0);
  }

  int64_t axis_setting_;
  bool has_ignore_;
  int ignore_label_;
  Normalization normalization_;
  Tensor prob_;  // softmax of bottom[0], same shape, kept for backward
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
  double normalizer_ = 1.0;
};

}  // namespace

std::unique_ptr<Layer> make_softmax_loss_layer(const LayerConfig& config,
                                               const LayerContext& context) {
  return std::make_unique<SoftmaxLossLayer>(config, context);
}

}  // namespace digits
