// Softmax (Caffe): normalized exponentials over `axis` (default 1, the channels), independently
// at every position of the other axes.
#include "core/error.h"
#include "nn/layer_registry.h"
#include "nn/layers/axis_and_labels.h"

namespace digits {

namespace {

class SoftmaxLayer final : public Layer {
 public:
  SoftmaxLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context), axis_setting_(config.get_int("axis", 1)) {}

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    if (top[0] == bottom[0]) fail_layer("cannot run in place; give it a top of its own");
    const Tensor& x = *bottom[0];
    const int axis = layer_detail::canonical_axis(config_, "axis", axis_setting_, x);
    outer_ = x.count(0, axis);
    channels_ = x.dim(axis);
    inner_ = x.count(axis + 1);
    top[0]->reshape(x.shape());
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    backend().softmax_forward(outer_, channels_, inner_, bottom[0]->data(), top[0]->data());
  }

  // bottom.grad = y * (top.grad - sum over the axis of top.grad * y)
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    backend().softmax_backward(outer_, channels_, inner_, top[0]->data(), top[0]->grad(),
                               bottom[0]->grad());
  }

 private:
  int64_t axis_setting_;
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
};

}  // namespace

std::unique_ptr<Layer> make_softmax_layer(const LayerConfig& config,
                                          const LayerContext& context) {
  return std::make_unique<SoftmaxLayer>(config, context);
}

}  // namespace digits
