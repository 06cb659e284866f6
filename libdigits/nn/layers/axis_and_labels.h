// Small checks shared by the layers that view a blob around an axis (Softmax, SoftmaxWithLoss,
// Accuracy, Scale, Concat, Flatten) and by those that read class labels (SoftmaxWithLoss,
// Accuracy). Errors name the layer, the key and the shapes.
#pragma once

#include <string>

#include "core/error.h"
#include "core/tensor.h"
#include "nn/layer_config.h"

namespace digits::layer_detail {

// `axis` of a blob with `num_axes` axes, negative counting from the end (Caffe's
// CanonicalAxisIndex); a usage error naming the layer, key and shape when out of range.
inline int canonical_axis(const LayerConfig& config, const char* key, int64_t axis,
                          const Tensor& blob) {
  const int64_t num_axes = blob.num_axes();
  if (axis < -num_axes || axis >= num_axes)
    config.fail_key(key, fmt::format("axis {} is out of range for a bottom of shape {} (valid: "
                                     "{} to {})",
                                     axis, blob.shape_string(), -num_axes, num_axes - 1));
  return static_cast<int>(axis < 0 ? axis + num_axes : axis);
}

// The optional `ignore_label` key: an int (a class index such as 255, or a negative marker).
inline int ignore_label_setting(const LayerConfig& config) {
  const int64_t value = config.get_int("ignore_label", -1);
  if (value < -(int64_t(1) << 24) || value > (int64_t(1) << 24))
    config.fail_key("ignore_label", fmt::format("{} is out of range: labels are stored as "
                                                "floats, exact up to 2^24",
                                                value));
  return static_cast<int>(value);
}

// Scores seen around their class axis as outer x channels x inner positions, with one label per
// position outside the axis.
struct LabelledScores {
  int64_t outer = 0, channels = 0, inner = 0;
};

// The view of bottom[0] (scores) that bottom[1] (labels) labels; a usage error naming the layer
// and both shapes when the label count does not match.
inline LabelledScores labelled_scores(const LayerConfig& config, int64_t axis_setting,
                                      const Tensor& scores, const Tensor& labels) {
  const int axis = canonical_axis(config, "axis", axis_setting, scores);
  LabelledScores view{scores.count(0, axis), scores.dim(axis), scores.count(axis + 1)};
  if (labels.count() != view.outer * view.inner)
    config.fail_key(nullptr, fmt::format("label count {} (shape {}) does not match scores {}: "
                                         "expected {} labels, one per position outside axis {}",
                                         labels.count(), labels.shape_string(),
                                         scores.shape_string(), view.outer * view.inner, axis));
  return view;
}

// Runs `op`, a backend call that reads class labels (softmax loss, accuracy). Labels are integers
// stored as floats, one per position, each in [0, classes) or equal to ignore_label. Both
// backends check them where they are (the CPU before computing; the CUDA kernels as they go,
// never indexing with a bad one), so the layer does not copy labels to the host to check them
// first (on a GPU that was a device-to-host copy every iteration). A bad label's error (data)
// gets the layer's location in front and ignore_label named.
template <typename F>
void with_label_context(const LayerConfig& config, bool has_ignore, int ignore_label, F&& op) {
  try {
    op();
  } catch (const Error& e) {
    if (e.code() != ExitCode::data) throw;
    fail_data("{}: {}{}", config.where(), e.what(),
              has_ignore ? fmt::format(" nor ignore_label {}", ignore_label) : std::string());
  }
}

}  // namespace digits::layer_detail
