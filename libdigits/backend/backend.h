// The operations layers need, behind one interface with a CPU implementation (backend/cpu/, the
// reference) and a CUDA one (kernels/). Layers are written once against this interface.
//
// Conventions, for every backend:
//  - Pointers are on the backend's device. Shapes are NCHW; sizes are int64_t.
//  - Forward ops overwrite their output (`=`).
//  - Backward ops overwrite the input gradient dx (`=`), and ACCUMULATE into parameter
//    gradients (dw, db, dgamma, dbeta: `+=`), so gradients sum over accumulated batches until
//    the solver clears them.
//  - Ops that return a number to the host (loss, accuracy) synchronize.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "data/transform.h"

namespace digits {

struct ConvShape {
  int64_t n = 0, c = 0, h = 0, w = 0;  // input (N, C, H, W)
  int64_t k = 0;                       // output channels
  int64_t kh = 1, kw = 1;              // kernel
  int64_t sh = 1, sw = 1;              // stride
  int64_t ph = 0, pw = 0;              // padding (both sides)
  int64_t dh = 1, dw = 1;              // dilation
  int64_t groups = 1;
  // Output size by Caffe's (and cuDNN's) rule: floor((h + 2p - (d(k-1)+1)) / s) + 1.
  int64_t out_h() const { return (h + 2 * ph - (dh * (kh - 1) + 1)) / sh + 1; }
  int64_t out_w() const { return (w + 2 * pw - (dw * (kw - 1) + 1)) / sw + 1; }
  std::string describe() const;  // "Conv(in=[2,3,10,10],k=4,kernel=3x3,s=1x1,p=0x0,d=1x1,g=1)"
};

enum class PoolMethod { max, average };

struct PoolShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  PoolMethod method = PoolMethod::max;
  // Output size by Caffe's rule: ceil((h + 2p - k) / s) + 1, then the last window is dropped if
  // it would start inside the bottom padding only.
  int64_t out_h() const;
  int64_t out_w() const;
  std::string describe() const;
};

enum class Activation { relu, sigmoid, tanh, elu };

struct LrnParams {
  int64_t size = 5;
  float alpha = 1e-4f, beta = 0.75f, k = 1.0f;
};

enum class EltwiseOp { sum, prod, max };

enum class SolverType { sgd, nesterov, adagrad, rmsprop, adadelta, adam };

// One parameter's update; formulas are Caffe's (see train/solver.h for the documentation).
struct SolverStep {
  SolverType type = SolverType::sgd;
  float lr = 0.01f;            // learning rate for this parameter (base rate * policy * lr_mult)
  float momentum = 0.9f;       // sgd/nesterov momentum; adadelta rho; adam beta1
  float momentum2 = 0.999f;    // adam beta2
  float rms_decay = 0.99f;     // rmsprop
  float delta = 1e-8f;         // numerical stabilizer (adagrad, rmsprop, adadelta, adam)
  float weight_decay = 0.0f;   // L2, already multiplied by decay_mult
  int64_t t = 1;               // 1-based step count (adam bias correction)
};

// A batch of records as stored, uint8 (batch, C, H, W) planar BGR, and how each becomes network
// input (data/transform.h: crop at (crop_y[b], crop_x[b]), mirror when mirror[b], subtract the
// mean, scale). crop_y[b] + out_height <= height and crop_x[b] + out_width <= width.
struct InputBatchTransform : TransformGeometry {
  int64_t batch = 0;
  const float* mean_image = nullptr;  // on the backend's device, (C, H, W); nullable
  const float* mean_pixel = nullptr;  // on the backend's device, (C); nullable; unused with an image
};

// The record shape, crop and scale of `sample` for a batch of `batch` records. The means are
// left null: they must be on the backend's device, which `sample` (host memory) is not.
InputBatchTransform input_batch_transform(const SampleTransform& sample, int64_t batch);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string name() const = 0;  // "cpu (OpenBLAS, 2 threads)", "cuda:0 (NVIDIA H100)"
  virtual void synchronize() {}
  // dst (n floats on the backend's device) = host (n floats in host memory). The input batch's
  // way in: the CUDA backend stages it in pinned memory and copies on its stream, so the host
  // may reuse `host` as soon as this returns while the copy overlaps the host's next work.
  virtual void upload(int64_t n, const float* host, float* dst) {
    copy_bytes(dst, device(), host, Device::cpu, static_cast<size_t>(n) * sizeof(float));
  }

  // The input batch's way in when the backend also transforms it: dst (batch, C, out_height,
  // out_width) on the backend's device = transform_sample (data/transform.h) of each of the
  // batch's uint8 records, the same floats. pixels, crop_y, crop_x and mirror are HOST arrays
  // (see InputBatchTransform); the host may reuse them as soon as this returns. The CUDA backend
  // copies the bytes (a quarter of the floats they become) through pinned memory on its stream
  // and transforms there. This default, for the CPU backend, transforms straight into dst.
  virtual void upload_transform(const InputBatchTransform& t, const uint8_t* pixels,
                                const int32_t* crop_y, const int32_t* crop_x,
                                const uint8_t* mirror, float* dst);

  // ---- BLAS-like --------------------------------------------------------------------------
  // Row-major C(m,n) = alpha * op(A) * op(B) + beta * C; op(A) is (m,k), op(B) is (k,n).
  virtual void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, const float* b, float beta, float* c) = 0;
  virtual void set(int64_t n, float value, float* y) = 0;
  virtual void copy(int64_t n, const float* x, float* y) = 0;
  virtual void axpy(int64_t n, float alpha, const float* x, float* y) = 0;  // y += alpha * x
  virtual void scale(int64_t n, float alpha, float* y) = 0;                 // y *= alpha
  virtual double sum_squares(int64_t n, const float* x) = 0;                // to host
  // Copies `rows` rows of `cols` floats between strided 2-D blocks (concat, split, slicing).
  virtual void copy_2d(int64_t rows, int64_t cols, const float* src, int64_t src_stride,
                       float* dst, int64_t dst_stride) = 0;
  // y[o, c, i] += bias[c] for y of shape (outer, channels, inner).
  virtual void add_bias(int64_t outer, int64_t channels, int64_t inner, const float* bias,
                        float* y) = 0;
  // dbias[c] += sum over o, i of dy[o, c, i].
  virtual void bias_backward(int64_t outer, int64_t channels, int64_t inner, const float* dy,
                             float* dbias) = 0;

  // ---- convolution --------------------------------------------------------------------------
  // y (n, k, oh, ow) = conv(x (n, c, h, w), w (k, c/groups, kh, kw)) + bias (k) (bias nullable).
  virtual void conv_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                            float* y) = 0;
  // dx = conv_transpose(dy, w).
  virtual void conv_backward_data(const ConvShape& s, const float* w, const float* dy,
                                  float* dx) = 0;
  // dw += correlation of x with dy; dbias += sum of dy (dbias nullable).
  virtual void conv_backward_filter(const ConvShape& s, const float* x, const float* dy, float* dw,
                                    float* dbias) = 0;

  // ---- pooling ------------------------------------------------------------------------------
  // mask (same shape as y, max pooling only, nullable) receives the flat index h*w+w of each
  // maximum within its input plane, stored as float (Caffe's top mask).
  virtual void pool_forward(const PoolShape& s, const float* x, float* y, float* mask) = 0;
  // Average pooling divides by the window size clipped to the padded input (Caffe's rule).
  virtual void pool_backward(const PoolShape& s, const float* x, const float* y, const float* dy,
                             const float* mask, float* dx) = 0;

  // ---- elementwise activations ----------------------------------------------------------------
  // alpha: negative slope for relu (0 = plain ReLU, Caffe's leaky ReLU), alpha for elu.
  virtual void activation_forward(Activation act, float alpha, int64_t n, const float* x,
                                  float* y) = 0;
  virtual void activation_backward(Activation act, float alpha, int64_t n, const float* x,
                                   const float* y, const float* dy, float* dx) = 0;
  // y = (shift + scale * x) ^ power (Caffe's Power layer).
  virtual void power_forward(int64_t n, float power, float scale, float shift, const float* x,
                             float* y) = 0;
  virtual void power_backward(int64_t n, float power, float scale, float shift, const float* x,
                              const float* y, const float* dy, float* dx) = 0;

  // ---- softmax and losses (x viewed as (outer, channels, inner), softmax over channels) -----
  virtual void softmax_forward(int64_t outer, int64_t channels, int64_t inner, const float* x,
                               float* y) = 0;
  virtual void softmax_backward(int64_t outer, int64_t channels, int64_t inner, const float* y,
                                const float* dy, float* dx) = 0;
  // Returns the sum over valid positions of -log(max(prob[label], FLT_MIN)); *valid receives
  // their number. label has (outer, inner) entries holding class indices as floats; positions
  // whose label equals ignore_label (when has_ignore) are skipped.
  virtual double softmax_loss_forward(int64_t outer, int64_t channels, int64_t inner,
                                      const float* prob, const float* label, bool has_ignore,
                                      int ignore_label, int64_t* valid) = 0;
  // dx = scale * (prob - onehot(label)), zero at ignored positions.
  virtual void softmax_loss_backward(int64_t outer, int64_t channels, int64_t inner,
                                     const float* prob, const float* label, bool has_ignore,
                                     int ignore_label, float scale, float* dx) = 0;
  // Counts positions whose label is among the top_k scores (ties count against: Caffe's rule).
  virtual void accuracy(int64_t outer, int64_t channels, int64_t inner, const float* x,
                        const float* label, int top_k, bool has_ignore, int ignore_label,
                        int64_t* correct, int64_t* valid) = 0;

  // ---- normalization ------------------------------------------------------------------------
  // Local response normalization across channels (Caffe): scale = k + alpha/size * sum of x^2
  // over `size` neighbouring channels; y = x * scale^-beta. scale has x's shape: backend state
  // from forward to backward (the CPU backend stores the normalizer there; the CUDA backend,
  // whose cuDNN LRN recomputes it, leaves it unwritten), so callers must not read it.
  virtual void lrn_forward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                           const float* x, float* scale, float* y) = 0;
  virtual void lrn_backward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                            const float* x, const float* y, const float* scale, const float* dy,
                            float* dx) = 0;
  // Batch norm over (n, spatial) per channel, no affine (Caffe's BatchNorm; Scale follows).
  // Training: normalize with batch statistics, save mean and inverse std for backward, and
  // update running = momentum * running + (1 - momentum) * batch (running_var uses the
  // unbiased batch variance).
  virtual void batchnorm_forward_train(int64_t n, int64_t c, int64_t spatial, float eps,
                                       float momentum, const float* x, float* y,
                                       float* running_mean, float* running_var, float* save_mean,
                                       float* save_invstd) = 0;
  virtual void batchnorm_forward_inference(int64_t n, int64_t c, int64_t spatial, float eps,
                                           const float* x, const float* running_mean,
                                           const float* running_var, float* y) = 0;
  virtual void batchnorm_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                  const float* dy, const float* save_mean,
                                  const float* save_invstd, float* dx) = 0;
  // y = x * gamma[c] + beta[c] (beta nullable), x viewed as (n, c, spatial). dgamma/dbeta +=
  // (either nullable).
  virtual void channel_scale_forward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                     const float* gamma, const float* beta, float* y) = 0;
  virtual void channel_scale_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                      const float* gamma, const float* dy, float* dx,
                                      float* dgamma, float* dbeta) = 0;

  // ---- dropout --------------------------------------------------------------------------------
  // mask[i] = counter_uniform(seed, offset + i) >= ratio ? 1/(1-ratio) : 0; y = x * mask.
  // Counter-based so every backend draws the same mask for the same seed and offset.
  virtual void dropout_forward(int64_t n, float ratio, uint64_t seed, uint64_t offset,
                               const float* x, float* mask, float* y) = 0;
  virtual void dropout_backward(int64_t n, const float* mask, const float* dy, float* dx) = 0;

  // ---- elementwise combination of several inputs (Caffe's Eltwise) -----------------------------
  // sum: y = sum coeffs[i] * xs[i]; prod: y = prod xs[i]; max: y = max xs[i], argmax receives
  // the winning input index as float (nullable unless op is max).
  virtual void eltwise_forward(EltwiseOp op, int64_t n, int num_inputs, const float* const* xs,
                               const float* coeffs, float* y, float* argmax) = 0;
  virtual void eltwise_backward(EltwiseOp op, int64_t n, int input_index, const float* x,
                                const float* y, const float* dy, float coeff,
                                const float* argmax, float* dx) = 0;

  // ---- solver ---------------------------------------------------------------------------------
  // One fused update of n weights w from gradient g; h1, h2 are the solver's history buffers
  // (unused ones may be null). g may be modified (weight decay is added into it).
  virtual void solver_update(const SolverStep& step, int64_t n, float* w, float* g, float* h1,
                             float* h2) = 0;
};

// The process-wide CPU backend.
Backend& cpu_backend();

// CUDA availability, without failing: false (and why) on a build without CUDA, on a machine
// without a driver or without a visible device.
bool cuda_available(std::string* why = nullptr);

// A device string read, without looking for a GPU: "cpu", "auto", "gpu" (= gpu:0) or "gpu:N".
// Error(usage) quoting the string for anything else.
struct DeviceChoice {
  enum class Kind { cpu, auto_select, gpu } kind = Kind::cpu;
  int gpu_index = 0;  // for Kind::gpu
};
DeviceChoice parse_device(const std::string& device_spec);

// The backend for a device string (parse_device): auto is the GPU when usable, else the CPU,
// saying which on stderr. Throws Error(missing) when a GPU is demanded and none is usable.
Backend& backend_for(const std::string& device_spec);

}  // namespace digits
