// Batch norm over one value per channel (n * spatial = 1), where cuDNN cannot follow the CPU
// backend: cuDNN updates the running variance with the unbiased variance, var * m / (m - 1),
// which is 0/0 for m = 1, while backend/cpu/batchnorm_cpu.cpp (the spec) falls back to the
// biased one (0). These kernels are that file's loops with m = 1, operation for operation (the
// _rn intrinsics keep nvcc from fusing a multiply and an add that the CPU rounds separately), so
// both backends give the same bits. x, y, dy, dx have c values; the statistics c each.
#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

__global__ void batchnorm_single_forward_train_kernel(int64_t c, float eps, float momentum,
                                                      const float* x, float* y,
                                                      float* running_mean, float* running_var,
                                                      float* save_mean, float* save_invstd) {
  DIGITS_KERNEL_LOOP(ch, c) {
    const double mean = static_cast<double>(x[ch]);  // the sum of one value, over m = 1
    const double deviation = __dsub_rn(static_cast<double>(x[ch]), mean);
    const double var = __dmul_rn(deviation, deviation);
    const float mean_f = static_cast<float>(mean);
    const float invstd =
        static_cast<float>(1.0 / sqrt(__dadd_rn(var, static_cast<double>(eps))));
    y[ch] = __fmul_rn(__fsub_rn(x[ch], mean_f), invstd);
    save_mean[ch] = mean_f;
    save_invstd[ch] = invstd;
    // running = momentum * running + (1 - momentum) * batch; the unbiased factor is 1 at m = 1.
    const double keep = __dsub_rn(1.0, static_cast<double>(momentum));
    running_mean[ch] = static_cast<float>(__dadd_rn(
        static_cast<double>(__fmul_rn(momentum, running_mean[ch])), __dmul_rn(keep, mean)));
    running_var[ch] = static_cast<float>(__dadd_rn(
        static_cast<double>(__fmul_rn(momentum, running_var[ch])), __dmul_rn(keep, var)));
  }
}

// dx = invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) with means over the one value.
__global__ void batchnorm_single_backward_kernel(int64_t c, const float* x, const float* dy,
                                                 const float* save_mean,
                                                 const float* save_invstd, float* dx) {
  DIGITS_KERNEL_LOOP(ch, c) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    const float xhat = __fmul_rn(__fsub_rn(x[ch], mean), invstd);
    const float mean_dy = dy[ch];
    const float mean_dy_xhat = static_cast<float>(
        __dmul_rn(static_cast<double>(dy[ch]), static_cast<double>(xhat)));
    dx[ch] = __fmul_rn(invstd, __fsub_rn(__fsub_rn(dy[ch], mean_dy),
                                         __fmul_rn(xhat, mean_dy_xhat)));
  }
}

}  // namespace

void cuda_batchnorm_single_forward_train(int64_t c, float eps, float momentum, const float* x,
                                         float* y, float* running_mean, float* running_var,
                                         float* save_mean, float* save_invstd,
                                         cudaStream_t stream) {
  if (c <= 0) return;
  batchnorm_single_forward_train_kernel<<<kernels::elementwise_blocks(c), kThreads, 0, stream>>>(
      c, eps, momentum, x, y, running_mean, running_var, save_mean, save_invstd);
  CUDA_CHECK_LAUNCH("batchnorm_single_forward_train_kernel");
}

void cuda_batchnorm_single_backward(int64_t c, const float* x, const float* dy,
                                    const float* save_mean, const float* save_invstd, float* dx,
                                    cudaStream_t stream) {
  if (c <= 0) return;
  batchnorm_single_backward_kernel<<<kernels::elementwise_blocks(c), kThreads, 0, stream>>>(
      c, x, dy, save_mean, save_invstd, dx);
  CUDA_CHECK_LAUNCH("batchnorm_single_backward_kernel");
}

}  // namespace digits
