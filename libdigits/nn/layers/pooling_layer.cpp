// Pooling (Caffe): top (N, C, OH, OW) = max or average of each window of bottom (N, C, H, W).
//
// Keys, with Caffe's names and defaults: pool (MAX | AVE, lowercase accepted; default MAX),
// kernel_size or kernel_h/kernel_w (required unless global_pooling), stride or
// stride_h/stride_w (1), pad or pad_h/pad_w (0, and below the kernel), global_pooling (false:
// the kernel is the whole plane, no padding, stride 1). Output size by Caffe's ceil rule
// (PoolShape::out_h). Max pooling may have a second top receiving the argmax mask (Caffe's
// top mask: flat index within the plane, as float); otherwise the layer keeps the mask itself.
#include "core/error.h"
#include "nn/layer_registry.h"
#include "nn/layers/window_params.h"

namespace digits {

namespace {

using layer_detail::HeightWidth;

PoolMethod parse_method(const LayerConfig& config) {
  const std::string pool = config.get_string("pool", "MAX");
  if (pool == "MAX" || pool == "max") return PoolMethod::max;
  if (pool == "AVE" || pool == "ave") return PoolMethod::average;
  if (pool == "STOCHASTIC" || pool == "stochastic")
    config.fail_key("pool", "STOCHASTIC pooling is not supported; use MAX or AVE");
  config.fail_key("pool", fmt::format("expected one of MAX, AVE (or max, ave), got \"{}\"", pool));
}

class PoolingLayer final : public Layer {
 public:
  PoolingLayer(const LayerConfig& config, const LayerContext& context)
      : Layer(config, context), method_(parse_method(config)), mask_(Shape{0}, device()) {
    global_ = config.get_bool("global_pooling", false);
    if (global_) {
      for (const char* key : {"kernel_size", "kernel_h", "kernel_w"})
        if (config.has(key))
          config.fail_key(key, "global_pooling uses the whole plane as the kernel: give no "
                               "kernel size");
    } else {
      kernel_ = layer_detail::read_height_width(config, "kernel_size", "kernel_h", "kernel_w", 0,
                                                1, true);
    }
    stride_ =
        layer_detail::read_height_width(config, "stride", "stride_h", "stride_w", 1, 1, false);
    pad_ = layer_detail::read_height_width(config, "pad", "pad_h", "pad_w", 0, 0, false);
    if (global_ && (stride_.h != 1 || stride_.w != 1 || pad_.h != 0 || pad_.w != 0))
      fail_layer(fmt::format("global_pooling needs stride 1 and pad 0, got stride {}x{} and "
                             "pad {}x{}",
                             stride_.h, stride_.w, pad_.h, pad_.w));
    if (!global_ && (pad_.h >= kernel_.h || pad_.w >= kernel_.w))
      fail_layer(fmt::format("pad {}x{} must be smaller than the kernel {}x{} (Caffe's rule: "
                             "every window must see the input)",
                             pad_.h, pad_.w, kernel_.h, kernel_.w));
  }

  int max_tops() const override { return method_ == PoolMethod::max ? 2 : 1; }

  void reshape(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    const Tensor& x = *bottom[0];
    if (x.num_axes() != 4)
      fail_layer(fmt::format("expected a 4-D bottom (N, C, H, W), got shape {}",
                             x.shape_string()));
    PoolShape s;
    s.n = x.dim(0);
    s.c = x.dim(1);
    s.h = x.dim(2);
    s.w = x.dim(3);
    s.kh = global_ ? s.h : kernel_.h;
    s.kw = global_ ? s.w : kernel_.w;
    s.sh = stride_.h;
    s.sw = stride_.w;
    s.ph = pad_.h;
    s.pw = pad_.w;
    s.method = method_;
    if (s.h < 1 || s.w < 1)
      fail_layer(fmt::format("bottom shape {} has an empty plane", x.shape_string()));
    if (s.kh > s.h + 2 * s.ph || s.kw > s.w + 2 * s.pw)
      fail_layer(fmt::format("kernel {}x{} is larger than the padded input {}x{} (bottom shape "
                             "{}, pad {}x{})",
                             s.kh, s.kw, s.h + 2 * s.ph, s.w + 2 * s.pw, x.shape_string(), s.ph,
                             s.pw));
    shape_ = s;
    const Shape out{s.n, s.c, s.out_h(), s.out_w()};
    top[0]->reshape(out);
    if (method_ == PoolMethod::max) (top.size() > 1 ? *top[1] : mask_).reshape(out);
  }

  void forward(const std::vector<Tensor*>& bottom, const std::vector<Tensor*>& top) override {
    backend().pool_forward(shape_, bottom[0]->data(), top[0]->data(), mask_data(top));
  }

  // bottom.grad = the gradient of pooling given top.grad (`=`).
  void backward(const std::vector<Tensor*>& top, const std::vector<bool>& propagate_down,
                const std::vector<Tensor*>& bottom) override {
    if (!propagate_down[0]) return;
    backend().pool_backward(shape_, bottom[0]->data(), top[0]->data(), top[0]->grad(),
                            mask_data(top), bottom[0]->grad());
  }

 private:
  float* mask_data(const std::vector<Tensor*>& top) {
    if (method_ != PoolMethod::max) return nullptr;
    return top.size() > 1 ? top[1]->data() : mask_.data();
  }

  PoolMethod method_;
  bool global_ = false;
  HeightWidth kernel_, stride_, pad_;
  Tensor mask_;  // (N, C, OH, OW) argmax of max pooling, when no second top receives it
  PoolShape shape_;
};

}  // namespace

std::unique_ptr<Layer> make_pooling_layer(const LayerConfig& config,
                                          const LayerContext& context) {
  return std::make_unique<PoolingLayer>(config, context);
}

}  // namespace digits
