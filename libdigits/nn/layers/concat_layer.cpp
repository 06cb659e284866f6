// Concat (Caffe): joins any number of bottoms along `axis` (default 1, the channels). All
// bottoms have the same number of axes and the same size on every axis but `axis`.
//
// Viewed around the axis, bottom b is (outer, count_b) with count_b = its count from `axis`
// on, and the top is (outer, sum of count_b): each bottom is one strided 2-D block copy.
#include <limits>

#include "core/error.h"
#include "nn/layer_registry.h"
#include "nn/layers/axis_and_labels.h"

namespace digits {

namespace {

class ConcatLayer final : public Layer {
 public:
  ConcatLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context), axis_setting_(config.get_int("axis", 1)) {}

  int max_bottoms() const override { return std::numeric_limits<int>::max(); }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& first = *bottom[0];
    axis_ = layer_detail::canonical_axis(config_, "axis", axis_setting_, first);
    Shape top_shape = first.shape();
    top_shape[axis_] = 0;
    for (size_t b = 0; b < bottom.size(); ++b) {
      const Tensor& x = *bottom[b];
      bool compatible = x.num_axes() == first.num_axes();
      for (int a = 0; compatible && a < first.num_axes(); ++a)
        compatible = a == axis_ || x.dim(a) == first.dim(a);
      if (!compatible)
        fail_layer(fmt::format("bottom[{}] has shape {} but bottom[0] has shape {}: Concat "
                               "along axis {} needs the other axes equal",
                               b, x.shape_string(), first.shape_string(), axis_));
      top_shape[axis_] += x.dim(axis_);
    }
    top[0]->reshape(top_shape);
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const int64_t outer = top[0]->count(0, axis_);
    const int64_t top_cols = top[0]->count(axis_);
    int64_t offset = 0;
    for (Tensor* b : bottom) {
      const int64_t cols = b->count(axis_);
      backend().copy_2d(outer, cols, b->data(), cols, top[0]->data() + offset, top_cols);
      offset += cols;
    }
  }

  // Each bottom's grad is its block of the top's grad (`=`).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    const int64_t outer = top[0]->count(0, axis_);
    const int64_t top_cols = top[0]->count(axis_);
    int64_t offset = 0;
    for (size_t i = 0; i < bottom.size(); ++i) {
      const int64_t cols = bottom[i]->count(axis_);
      if (propagate_down[i])
        backend().copy_2d(outer, cols, top[0]->grad() + offset, top_cols, bottom[i]->grad(),
                          cols);
      offset += cols;
    }
  }

 private:
  int64_t axis_setting_;
  int axis_ = 1;
};

}  // namespace

std::unique_ptr<Layer> make_concat_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<ConcatLayer>(config, context);
}

}  // namespace digits
