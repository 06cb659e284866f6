// Split (Caffe): copies one bottom to every top. The net inserts these where one blob feeds
// several layers, so each consumer has a top (and a gradient) of its own; backward sums them.
#include <limits>

#include "core/error.h"
#include "nn/layer_registry.h"

namespace digits {

namespace {

class SplitLayer final : public Layer {
 public:
  SplitLayer(const LayerConfig& config, const LayerContext& context) : Layer(config, context) {}

  int max_tops() const override { return std::numeric_limits<int>::max(); }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    for (size_t t = 0; t < top.size(); ++t) {
      if (top[t] == bottom[0])
        fail_layer(fmt::format("top[{}] is its bottom: Split cannot run in place", t));
      top[t]->reshape(bottom[0]->shape());
    }
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    for (Tensor* t : top) backend().copy(bottom[0]->count(), bottom[0]->data(), t->data());
  }

  // bottom.grad = sum over tops of top.grad (`=`).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    float* dx = bottom[0]->grad();
    backend().copy(n, top[0]->grad(), dx);
    for (size_t t = 1; t < top.size(); ++t) backend().axpy(n, 1.0f, top[t]->grad(), dx);
  }
};

}  // namespace

std::unique_ptr<Layer> make_split_layer(const LayerConfig& config, const LayerContext& context) {
  return std::make_unique<SplitLayer>(config, context);
}

}  // namespace digits
