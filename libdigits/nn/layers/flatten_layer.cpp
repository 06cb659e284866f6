// Flatten (Caffe): merges axes [axis, end_axis] (defaults 1 and -1) into one, e.g.
// (N, C, H, W) -> (N, C*H*W). The values are copied unchanged; only the shape differs.
#include "core/error.h"
#include "nn/layer_registry.h"
#include "nn/layers/axis_and_labels.h"

namespace digits {

namespace {

class FlattenLayer final : public Layer {
 public:
  FlattenLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context),
        axis_setting_(config.get_int("axis", 1)),
        end_axis_setting_(config.get_int("end_axis", -1)) {}

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    if (top[0] == bottom[0])
      fail_layer("cannot run in place (its top has another shape); give it a top of its own");
    const Tensor& x = *bottom[0];
    const int axis = layer_detail::canonical_axis(config_, "axis", axis_setting_, x);
    const int end_axis = layer_detail::canonical_axis(config_, "end_axis", end_axis_setting_, x);
    if (end_axis < axis)
      fail_layer(fmt::format("end_axis {} comes before axis {} in bottom shape {}", end_axis,
                             axis, x.shape_string()));
    Shape shape(x.shape().begin(), x.shape().begin() + axis);
    shape.push_back(x.count(axis, end_axis + 1));
    shape.insert(shape.end(), x.shape().begin() + end_axis + 1, x.shape().end());
    top[0]->reshape(shape);
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    backend().copy(bottom[0]->count(), bottom[0]->data(), top[0]->data());
  }

  // bottom.grad = top.grad, reshaped back (`=`).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    backend().copy(top[0]->count(), top[0]->grad(), bottom[0]->grad());
  }

 private:
  int64_t axis_setting_, end_axis_setting_;
};

}  // namespace

std::unique_ptr<Layer> make_flatten_layer(const LayerConfig& config,
                                          const LayerContext& context) {
  return std::make_unique<FlattenLayer>(config, context);
}

}  // namespace digits
