// The CUDA backend (compiled only when DIGITS_HAVE_CUDA): the Backend interface on one NVIDIA
// GPU. cuDNN does convolution, LRN, softmax and batch norm; cuBLAS does GEMM and the BLAS-1 ops;
// our own kernels (kernels/*.cu, launched through kernels/cuda_kernels.h and
// kernels/cuda_ops.h) do the rest. One small file per family of ops, as the CPU backend:
//   kernels/cuda_backend.cpp     handles, stream, scratch memory, uploads, delegated kernels
//   kernels/gemm_cublas.cpp      gemm, axpy, scale, copy, sum_squares
//   kernels/conv_cudnn.cpp       convolution (algorithm chosen once per shape, cached)
//   kernels/pool_cuda.cu         pooling (Caffe's ceil rule and divisor, which cuDNN lacks)
//   kernels/activation_cuda.cu   activations (backward from y alone, as the CPU's)
//   kernels/lrn_cudnn.cpp, softmax_cudnn.cpp, batchnorm_cudnn.cpp
//   kernels/cudnn_descriptors.cpp  the cuDNN descriptors those three use, made once per shape
//
// Every op is enqueued on the backend's one stream, in order, so ops need no synchronization
// between them; ops that return a number to the host synchronize. The stream is a blocking
// stream, so Tensor's own cudaMemcpy/cudaMemset (legacy default stream) stay ordered with it.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "backend/backend.h"
#include "kernels/cudnn_descriptors.h"

namespace digits {

struct CudaLabelResult;  // kernels/cuda_kernels.h

// True when the CUDA runtime finds a usable device; otherwise false and why (no driver, no
// device, CUDA_VISIBLE_DEVICES empty). Never throws.
bool cuda_probe(std::string* why);

// The process-wide backend for device `index` (after CUDA_VISIBLE_DEVICES remapping). Throws
// Error(missing) when there is no such device. Makes `index` the calling thread's device.
Backend& cuda_backend(int index);

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device_index);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  Device device() const override { return Device::cuda; }
  std::string name() const override { return name_; }
  void synchronize() override;
  void upload(int64_t n, const float* host, float* device) override;
  void upload_transform(const InputBatchTransform& t, const uint8_t* pixels,
                        const int32_t* crop_y, const int32_t* crop_x, const uint8_t* mirror,
                        float* dst) override;

  int device_index() const { return device_index_; }
  cudaStream_t stream() const { return stream_; }

  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
            const float* a, const float* b, float beta, float* c) override;
  void set(int64_t n, float value, float* y) override;
  void copy(int64_t n, const float* x, float* y) override;
  void axpy(int64_t n, float alpha, const float* x, float* y) override;
  void scale(int64_t n, float alpha, float* y) override;
  double sum_squares(int64_t n, const float* x) override;
  void copy_2d(int64_t rows, int64_t cols, const float* src, int64_t src_stride, float* dst,
               int64_t dst_stride) override;
  void add_bias(int64_t outer, int64_t channels, int64_t inner, const float* bias,
                float* y) override;
  void bias_backward(int64_t outer, int64_t channels, int64_t inner, const float* dy,
                     float* dbias) override;

  void conv_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                    float* y) override;
  void conv_backward_data(const ConvShape& s, const float* w, const float* dy, float* dx) override;
  void conv_backward_filter(const ConvShape& s, const float* x, const float* dy, float* dw,
                            float* dbias) override;

  void pool_forward(const PoolShape& s, const float* x, float* y, float* mask) override;
  void pool_backward(const PoolShape& s, const float* x, const float* y, const float* dy,
                     const float* mask, float* dx) override;

  void activation_forward(Activation act, float alpha, int64_t n, const float* x,
                          float* y) override;
  void activation_backward(Activation act, float alpha, int64_t n, const float* x, const float* y,
                           const float* dy, float* dx) override;
  void power_forward(int64_t n, float power, float scale, float shift, const float* x,
                     float* y) override;
  void power_backward(int64_t n, float power, float scale, float shift, const float* x,
                      const float* y, const float* dy, float* dx) override;

  void softmax_forward(int64_t outer, int64_t channels, int64_t inner, const float* x,
                       float* y) override;
  void softmax_backward(int64_t outer, int64_t channels, int64_t inner, const float* y,
                        const float* dy, float* dx) override;
  double softmax_loss_forward(int64_t outer, int64_t channels, int64_t inner, const float* prob,
                              const float* label, bool has_ignore, int ignore_label,
                              int64_t* valid) override;
  void softmax_loss_backward(int64_t outer, int64_t channels, int64_t inner, const float* prob,
                             const float* label, bool has_ignore, int ignore_label, float scale,
                             float* dx) override;
  void accuracy(int64_t outer, int64_t channels, int64_t inner, const float* x,
                const float* label, int top_k, bool has_ignore, int ignore_label,
                int64_t* correct, int64_t* valid) override;

  void lrn_forward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w, const float* x,
                   float* scale, float* y) override;
  void lrn_backward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                    const float* x, const float* y, const float* scale, const float* dy,
                    float* dx) override;
  void batchnorm_forward_train(int64_t n, int64_t c, int64_t spatial, float eps, float momentum,
                               const float* x, float* y, float* running_mean, float* running_var,
                               float* save_mean, float* save_invstd) override;
  void batchnorm_forward_inference(int64_t n, int64_t c, int64_t spatial, float eps,
                                   const float* x, const float* running_mean,
                                   const float* running_var, float* y) override;
  void batchnorm_backward(int64_t n, int64_t c, int64_t spatial, const float* x, const float* dy,
                          const float* save_mean, const float* save_invstd, float* dx) override;
  void channel_scale_forward(int64_t n, int64_t c, int64_t spatial, const float* x,
                             const float* gamma, const float* beta, float* y) override;
  void channel_scale_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                              const float* gamma, const float* dy, float* dx, float* dgamma,
                              float* dbeta) override;

  void dropout_forward(int64_t n, float ratio, uint64_t seed, uint64_t offset, const float* x,
                       float* mask, float* y) override;
  void dropout_backward(int64_t n, const float* mask, const float* dy, float* dx) override;

  void eltwise_forward(EltwiseOp op, int64_t n, int num_inputs, const float* const* xs,
                       const float* coeffs, float* y, float* argmax) override;
  void eltwise_backward(EltwiseOp op, int64_t n, int input_index, const float* x, const float* y,
                        const float* dy, float coeff, const float* argmax, float* dx) override;

  void solver_update(const SolverStep& step, int64_t n, float* w, float* g, float* h1,
                     float* h2) override;

 private:
  // Device scratch memory shared by the ops (convolution workspaces, reduction partials); grows,
  // never shrinks. Valid until the next call that asks for scratch.
  void* scratch(size_t bytes, const char* what);
  // Enqueues a loss or accuracy reduction with `launch(device_result, scratch)` and returns its
  // result on the host; a bad label is an Error (data) naming op (cuda_backend.cpp).
  template <typename Launch>
  CudaLabelResult label_result(const char* op, int64_t channels, Launch launch);
  // A per-channel vector of ones and one of zeros (cuDNN batch norm's scale and bias), >= c.
  const float* ones(int64_t c);
  const float* zeros(int64_t c);

  // The cuDNN descriptor of a 4-D float NCHW tensor, and of an LRN parameter set, made on first
  // use and kept (cudnn_descriptors.cpp): the ops made of one cuDNN call (softmax, LRN, batch
  // norm) look theirs up here instead of building them per call.
  cudnnTensorDescriptor_t tensor_descriptor(int64_t n, int64_t c, int64_t h, int64_t w,
                                            const char* op);
  cudnnLRNDescriptor_t lrn_descriptor(const LrnParams& p, const char* op);

  // What every cuDNN batch norm call takes: the (n, c, spatial, 1) data and (1, c, 1, 1)
  // parameter descriptors, and a scale of ones and a bias of zeros (Caffe's BatchNorm has no
  // affine part) (batchnorm_cudnn.cpp).
  struct BatchNormArgs {
    cudnnTensorDescriptor_t data, channels;
    const float *gamma, *beta;
  };
  BatchNormArgs batchnorm_args(int64_t n, int64_t c, int64_t spatial, const char* op);

  struct ConvPlan;  // descriptors and chosen algorithms for one ConvShape (conv_cudnn.cpp)
  struct ConvPlanDeleter {
    void operator()(ConvPlan* plan) const;  // defined where ConvPlan is complete
  };
  ConvPlan& conv_plan(const ConvShape& s);

  int device_index_ = 0;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  bool allow_tf32_ = false;  // DIGITS_ALLOW_TF32=1: TF32 tensor cores in cuDNN and cuBLAS
  size_t workspace_limit_ = 0;  // bytes a convolution algorithm may use as workspace

  void* scratch_ = nullptr;  // device
  size_t scratch_bytes_ = 0;
  // Pinned host memory for the small results of reductions (loss, accuracy, sum of squares).
  static constexpr size_t kResultBytes = 256;
  void* result_ = nullptr;
  // Pinned staging of uploads: a ring of slots, each reused only once the copy that last read it
  // has finished (its event). Two slots let an iteration's two uploads (data, labels) go out back
  // to back: each waits only for its own kind of the iteration before, long done.
  struct Staging {
    void* host = nullptr;
    size_t bytes = 0;
    cudaEvent_t done = nullptr;  // recorded after the copy that reads this slot
  };
  static constexpr int kStagingSlots = 2;
  Staging staging_[kStagingSlots];
  int next_staging_ = 0;
  // The next slot, holding at least `bytes`, free to overwrite.
  Staging& staging(size_t bytes);
  // upload_transform's raw records, crop corners and mirror flags on the device; grows.
  Buffer input_bytes_;
  Buffer ones_, zeros_;
  int64_t constants_count_ = 0;

  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                      int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>,
           std::unique_ptr<ConvPlan, ConvPlanDeleter>>
      conv_plans_;
  std::map<std::array<int64_t, 4>, std::unique_ptr<CudnnTensorDescriptor>> tensor_descriptors_;
  // Keyed by local size and the bits of alpha, beta, k.
  std::map<std::array<uint32_t, 4>, std::unique_ptr<CudnnLrnDescriptor>> lrn_descriptors_;
};

}  // namespace digits
