// Softmax over channels through cuDNN: x viewed as (outer, channels, inner, 1), cuDNN's channel
// mode, its "accurate" algorithm (subtracts the max first, as the CPU backend).
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"

namespace digits {

// y = exp(x - max) / sum exp(x - max) over channels, `=`.
void CudaBackend::softmax_forward(int64_t outer, int64_t channels, int64_t inner, const float* x,
                                  float* y) {
  if (outer * channels * inner == 0) return;
  const cudnnTensorDescriptor_t desc =
      tensor_descriptor(outer, channels, inner, 1, "softmax_forward");
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnSoftmaxForward(cudnn_, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &one,
                                  desc, x, &zero, desc, y));
}

// dx = y * (dy - sum over channels of dy * y), `=`.
void CudaBackend::softmax_backward(int64_t outer, int64_t channels, int64_t inner, const float* y,
                                   const float* dy, float* dx) {
  if (outer * channels * inner == 0) return;
  const cudnnTensorDescriptor_t desc =
      tensor_descriptor(outer, channels, inner, 1, "softmax_backward");
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnSoftmaxBackward(cudnn_, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL,
                                   &one, desc, y, desc, dy, &zero, desc, dx));
}

}  // namespace digits
