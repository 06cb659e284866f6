// Local response normalization across channels through cuDNN, Caffe's formula: cuDNN divides
// alpha by the window size itself and centres odd windows as Caffe does (lookBehind =
// (size - 1) / 2). cuDNN recomputes the normalizer in backward, so `scale` is not written
// (Backend::lrn_forward allows that). cuDNN's parameter limits are checked, with a message, in
// CudaBackend::lrn_descriptor (cudnn_descriptors.cpp).
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"

namespace digits {

// y = x * (k + alpha/size * sum of x^2 over the channel window)^-beta, `=`. scale unused.
void CudaBackend::lrn_forward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                              const float* x, float* /*scale*/, float* y) {
  const cudnnLRNDescriptor_t lrn = lrn_descriptor(p, "lrn_forward");
  const cudnnTensorDescriptor_t desc = tensor_descriptor(n, c, h, w, "lrn_forward");
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnLRNCrossChannelForward(cudnn_, lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, desc, x,
                                          &zero, desc, y));
}

// dx from x, y and dy, `=`. scale unused.
void CudaBackend::lrn_backward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                               const float* x, const float* y, const float* /*scale*/,
                               const float* dy, float* dx) {
  const cudnnLRNDescriptor_t lrn = lrn_descriptor(p, "lrn_backward");
  const cudnnTensorDescriptor_t desc = tensor_descriptor(n, c, h, w, "lrn_backward");
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnLRNCrossChannelBackward(cudnn_, lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &one, desc,
                                           y, desc, dy, desc, x, &zero, desc, dx));
}

}  // namespace digits
