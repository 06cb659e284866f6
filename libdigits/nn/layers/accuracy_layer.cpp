// Accuracy (Caffe): the fraction of positions whose label is among the top_k (default 1) scores
// of bottom[0] along `axis` (default 1). bottom[1] holds one class label per position. Ties count
// against (Caffe's rule: a class scoring exactly as high as the true class ranks above it).
// Positions labelled ignore_label (when given) are not counted. With no position counted the
// accuracy is reported as 0, not 0/0.
#include "core/error.h"
#include "nn/layer_registry.h"
#include "nn/layers/axis_and_labels.h"

namespace digits {

namespace {

class AccuracyLayer final : public Layer {
 public:
  AccuracyLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        axis_setting_(config.get_int("axis", 1)),
        top_k_(config.get_int_at_least("top_k", 1, 1)),
        has_ignore_(config.has("ignore_label")),
        ignore_label_(layer_detail::ignore_label_setting(config)) {}

  int min_bottoms() const override { return 2; }
  int max_bottoms() const override { return 2; }
  bool has_backward() const override { return false; }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& scores = *bottom[0];
    const auto view = layer_detail::labelled_scores(config_, axis_setting_, scores, *bottom[1]);
    outer_ = view.outer;
    channels_ = view.channels;
    inner_ = view.inner;
    if (top_k_ > channels_)
      config_.fail_key("top_k", fmt::format("top_k {} exceeds the {} classes of scores {}",
                                            top_k_, channels_, scores.shape_string()));
    top[0]->reshape(Shape{});
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    int64_t correct = 0, valid = 0;
    layer_detail::with_label_context(config_, has_ignore_, ignore_label_, [&] {
      backend().accuracy(outer_, channels_, inner_, bottom[0]->data(), bottom[1]->data(),
                         static_cast<int>(top_k_), has_ignore_, ignore_label_, &correct, &valid);
    });
    const double fraction = valid > 0 ? static_cast<double>(correct) / valid : 0.0;
    top[0]->set_data({static_cast<float>(fraction)});
  }

  // Accuracy is piecewise constant in the scores: its gradient is zero. The net skips this
  // layer (has_backward() is false); if asked anyway, the bottom gets an honest zero so that a
  // Split summing its tops' grads is not fed stale values.
  void backward(const std::vector<Tensor*>& /*top*/, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (propagate_down[0]) bottom[0]->zero_grad();
  }

 private:
  int64_t axis_setting_;
  int64_t top_k_;
  bool has_ignore_;
  int ignore_label_;
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
};

}  // namespace

std::unique_ptr<Layer> make_accuracy_layer(const LayerConfig& config,
                                           const LayerContext& context) {
  return std::make_unique<AccuracyLayer>(config, context);
}

}  // namespace digits
