// Caffe's Power layer on the GPU; the CPU twin is power_forward/backward in
// backend/cpu/activation_cpu.cpp, whose special cases (power 1, 2, 0) this follows.
#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

// y = (shift + scale * x) ^ power, `=`.
__global__ void power_forward_kernel(int64_t n, float power, float scale, float shift,
                                     const float* x, float* y) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float base = shift + scale * x[i];
    if (power == 1.0f)
      y[i] = base;
    else if (power == 2.0f)
      y[i] = base * base;
    else
      y[i] = powf(base, power);
  }
}

// dx = dy * power * scale * (shift + scale * x) ^ (power - 1), `=`; computed from x, not as
// y / base, so base = 0 gives the right limit.
__global__ void power_backward_kernel(int64_t n, float power, float scale, float shift,
                                      const float* x, const float* dy, float* dx) {
  DIGITS_KERNEL_LOOP(i, n) {
    if (power == 0.0f || scale == 0.0f)  // y is constant in x
      dx[i] = 0.0f;
    else if (power == 1.0f)
      dx[i] = scale * dy[i];
    else if (power == 2.0f)
      dx[i] = 2.0f * scale * (shift + scale * x[i]) * dy[i];
    else
      dx[i] = power * scale * powf(shift + scale * x[i], power - 1.0f) * dy[i];
  }
}

}  // namespace

void cuda_power_forward(int64_t n, float power, float scale, float shift, const float* x, float* y,
                        cudaStream_t stream) {
  if (n <= 0) return;
  power_forward_kernel<<<kernels::elementwise_blocks(n), kThreads, 0, stream>>>(n, power, scale,
                                                                               shift, x, y);
  CUDA_CHECK_LAUNCH("power_forward_kernel");
}

void cuda_power_backward(int64_t n, float power, float scale, float shift, const float* x,
                         const float* /*y*/, const float* dy, float* dx, cudaStream_t stream) {
  if (n <= 0) return;
  power_backward_kernel<<<kernels::elementwise_blocks(n), kThreads, 0, stream>>>(
      n, power, scale, shift, x, dy, dx);
  CUDA_CHECK_LAUNCH("power_backward_kernel");
}

}  // namespace digits
