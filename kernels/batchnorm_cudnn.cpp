// Batch normalization (no affine: Caffe's BatchNorm) through cuDNN's spatial mode, with a scale
// of ones and a bias of zeros. Caffe's semantics match cuDNN's: batch statistics with the biased
// variance for normalizing, the unbiased one for the running variance, running = momentum *
// running + (1 - momentum) * batch (cuDNN's exponentialAverageFactor is 1 - momentum), and the
// saved inverse standard deviation 1/sqrt(var + eps) (cuDNN calls it the saved inverse variance;
// it is the inverse standard deviation). One value per channel (n * spatial = 1) goes to our own
// kernels instead (batchnorm_kernels.cu): there the CPU uses the biased variance.
// The layer never passes aliased x/y or dy/dx here (it copies when running in place).
#include "kernels/cuda_backend.h"
#include "core/error.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_kernels.h"

namespace digits {

CudaBackend::BatchNormArgs CudaBackend::batchnorm_args(int64_t n, int64_t c, int64_t spatial,
                                                       const char* op) {
  BatchNormArgs args;
  args.data = tensor_descriptor(n, c, spatial, 1, op);
  args.channels = tensor_descriptor(1, c, 1, 1, op);
  args.gamma = ones(c);
  args.beta = zeros(c);
  return args;
}

void CudaBackend::batchnorm_forward_train(int64_t n, int64_t c, int64_t spatial, float eps,
                                          float momentum, const float* x, float* y,
                                          float* running_mean, float* running_var,
                                          float* save_mean, float* save_invstd) {
  DIGITS_CHECK(n * spatial > 0, "batchnorm over an empty batch (n={}, spatial={})", n, spatial);
  DIGITS_CHECK(eps >= CUDNN_BN_MIN_EPSILON, "batchnorm: eps {} below cuDNN's minimum {}", eps,
               CUDNN_BN_MIN_EPSILON);
  if (n * spatial == 1) {  // cuDNN's running variance would be 0/0 (see cuda_kernels.h)
    cuda_batchnorm_single_forward_train(c, eps, momentum, x, y, running_mean, running_var,
                                        save_mean, save_invstd, stream_);
    return;
  }
  const BatchNormArgs a = batchnorm_args(n, c, spatial, "batchnorm_forward_train");
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
      cudnn_, CUDNN_BATCHNORM_SPATIAL, &one, &zero, a.data, x, a.data, y, a.channels, a.gamma,
      a.beta, 1.0 - static_cast<double>(momentum), running_mean, running_var, eps, save_mean,
      save_invstd));
}

void CudaBackend::batchnorm_forward_inference(int64_t n, int64_t c, int64_t spatial, float eps,
                                              const float* x, const float* running_mean,
                                              const float* running_var, float* y) {
  DIGITS_CHECK(eps >= CUDNN_BN_MIN_EPSILON, "batchnorm: eps {} below cuDNN's minimum {}", eps,
               CUDNN_BN_MIN_EPSILON);
  const BatchNormArgs a = batchnorm_args(n, c, spatial, "batchnorm_forward_inference");
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
      cudnn_, CUDNN_BATCHNORM_SPATIAL, &one, &zero, a.data, x, a.data, y, a.channels, a.gamma,
      a.beta, running_mean, running_var, eps));
}

// dx = invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), `=`. cuDNN also produces the scale
// and bias gradients, which a no-affine batch norm discards (into scratch).
void CudaBackend::batchnorm_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                     const float* dy, const float* save_mean,
                                     const float* save_invstd, float* dx) {
  DIGITS_CHECK(n * spatial > 0, "batchnorm over an empty batch (n={}, spatial={})", n, spatial);
  if (n * spatial == 1) {
    cuda_batchnorm_single_backward(c, x, dy, save_mean, save_invstd, dx, stream_);
    return;
  }
  const BatchNormArgs a = batchnorm_args(n, c, spatial, "batchnorm_backward");
  float* discarded = static_cast<float*>(
      scratch(2 * static_cast<size_t>(c) * sizeof(float), "batchnorm parameter gradients"));
  const float one = 1.0f, zero = 0.0f;
  // eps is not used when the saved mean and inverse std are given (cuDNN's documentation);
  // the minimum is passed because the interface does not carry the forward's eps.
  CUDNN_CHECK(cudnnBatchNormalizationBackward(
      cudnn_, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, a.data, x, a.data, dy, a.data,
      dx, a.channels, a.gamma, discarded, discarded + c, CUDNN_BN_MIN_EPSILON, save_mean,
      save_invstd));
}

}  // namespace digits
