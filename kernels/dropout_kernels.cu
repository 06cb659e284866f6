// Dropout on the GPU; the CPU twin is backend/cpu/dropout_cpu.cpp. The mask comes from the same
// counter-based hash (core/rng.h counter_uniform, compiled here for the device), so for the same
// seed and offset both backends draw bit-identical masks.
#include "core/rng.h"
#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

// keep_scale = 1 / (1 - ratio), computed once on the host exactly as the CPU computes it.
__global__ void dropout_forward_kernel(int64_t n, float ratio, float keep_scale, uint64_t seed,
                                       uint64_t offset, const float* x, float* mask, float* y) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float m =
        counter_uniform(seed, offset + static_cast<uint64_t>(i)) >= ratio ? keep_scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

__global__ void dropout_backward_kernel(int64_t n, const float* mask, const float* dy, float* dx) {
  DIGITS_KERNEL_LOOP(i, n) dx[i] = dy[i] * mask[i];
}

}  // namespace

void cuda_dropout_forward(int64_t n, float ratio, uint64_t seed, uint64_t offset, const float* x,
                          float* mask, float* y, cudaStream_t stream) {
  CUDA_REQUIRE(ratio >= 0.0f && ratio < 1.0f, "cuda_dropout_forward");
  if (n <= 0) return;
  const float keep_scale = 1.0f / (1.0f - ratio);
  dropout_forward_kernel<<<kernels::elementwise_blocks(n), kThreads, 0, stream>>>(
      n, ratio, keep_scale, seed, offset, x, mask, y);
  CUDA_CHECK_LAUNCH("dropout_forward_kernel");
}

void cuda_dropout_backward(int64_t n, const float* mask, const float* dy, float* dx,
                           cudaStream_t stream) {
  if (n <= 0) return;
  dropout_backward_kernel<<<kernels::elementwise_blocks(n), kThreads, 0, stream>>>(n, mask, dy,
                                                                                  dx);
  CUDA_CHECK_LAUNCH("dropout_backward_kernel");
}

}  // namespace digits
