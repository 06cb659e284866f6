// Local response normalization across channels through cuDNN (Caffe's formula: cuDNN divides
// alpha by the window size itself, and centres odd windows as Caffe does).
// cuDNN recomputes the normalizer in backward, so `scale` is not written (Backend::lrn_forward
// allows that). cuDNN takes windows of 1..16 channels, k >= 1e-5 and beta >= 0.01; other values
// are an error here, never a silent fallback.
#include "kernels/cuda_backend.h"
#include "core/error.h"
#include "kernels/cuda_check.h"
#include "kernels/cudnn_tensor.h"

namespace digits {

namespace {

// An LRN descriptor that destroys itself, checked against cuDNN's limits with a clear message.
class CudnnLrn {
 public:
  CudnnLrn(const LrnParams& p, const char* op) {
    if (p.size < CUDNN_LRN_MIN_N || p.size > CUDNN_LRN_MAX_N || p.k < CUDNN_LRN_MIN_K ||
        p.beta < CUDNN_LRN_MIN_BETA)
      fail_runtime("cuda backend: {}: cuDNN's LRN needs local_size in [{}, {}], k >= {} and "
                   "beta >= {}; got local_size {}, k {}, beta {}",
                   op, CUDNN_LRN_MIN_N, CUDNN_LRN_MAX_N, CUDNN_LRN_MIN_K, CUDNN_LRN_MIN_BETA,
                   p.size, p.k, p.beta);
    CUDNN_CHECK(cudnnCreateLRNDescriptor(&desc_));
    const cudnnStatus_t status = cudnnSetLRNDescriptor(desc_, static_cast<unsigned>(p.size),
                                                       p.alpha, p.beta, p.k);
    if (status != CUDNN_STATUS_SUCCESS) {
      cudnnDestroyLRNDescriptor(desc_);
      CUDNN_CHECK(status);
    }
  }
  ~CudnnLrn() { cudnnDestroyLRNDescriptor(desc_); }
  CudnnLrn(const CudnnLrn&) = delete;
  CudnnLrn& operator=(const CudnnLrn&) = delete;
  operator cudnnLRNDescriptor_t() const { return desc_; }

 private:
  cudnnLRNDescriptor_t desc_ = nullptr;
};

}  // namespace

// y = x * (k + alpha/size * sum of x^2 over the channel window)^-beta, `=`. scale unused.
void CudaBackend::lrn_forward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                              const float* x, float* /*scale*/, float* y) {
  CudnnLrn lrn(p, "lrn_forward");
  CudnnTensor desc(n, c, h, w, "lrn_forward");
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnLRNCrossChannelForward(cudnn_, lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, desc, x,
                                          &zero, desc, y));
}

// dx from x, y and dy, `=`. scale unused.
void CudaBackend::lrn_backward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                               const float* x, const float* y, const float* /*scale*/,
                               const float* dy, float* dx) {
  CudnnLrn lrn(p, "lrn_backward");
  CudnnTensor desc(n, c, h, w, "lrn_backward");
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnLRNCrossChannelBackward(cudnn_, lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, desc,
                                           y, desc, dy, desc, x, &zero, desc, dx));
}

}  // namespace digits
