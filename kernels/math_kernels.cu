// BLAS-like basics of the CUDA backend; the CPU twin is backend/cpu/math_cpu.cpp.
#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

__global__ void set_kernel(int64_t n, float value, float* y) {
  DIGITS_KERNEL_LOOP(i, n) y[i] = value;
}

__global__ void axpy_kernel(int64_t n, float alpha, const float* x, float* y) {
  DIGITS_KERNEL_LOOP(i, n) y[i] += alpha * x[i];
}

__global__ void scale_kernel(int64_t n, float alpha, float* y) {
  DIGITS_KERNEL_LOOP(i, n) y[i] *= alpha;
}

// First pass: partials[block] = sum of x^2 over the block's grid-stride share, in double.
__global__ void sum_squares_kernel(int64_t n, const float* x, double* partials) {
  __shared__ double shared[kThreads];
  double total = 0;
  DIGITS_KERNEL_LOOP(i, n) total += static_cast<double>(x[i]) * x[i];
  total = kernels::block_reduce(total, shared, kernels::Add{});
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

struct StoreDouble {
  double* result;
  __device__ void operator()(double total) const { *result = total; }
};

// y (outer, channels, inner) += bias[c].
__global__ void add_bias_kernel(int64_t total, int64_t channels, int64_t inner, const float* bias,
                                float* y) {
  DIGITS_KERNEL_LOOP(e, total) y[e] += bias[(e / inner) % channels];
}

// One block per channel: dbias[c] += sum of dy[o, c, i] over (o, i), in double, fixed order.
// Rows at least a block wide are read row by row (coalesced, no index division); short rows
// (inner product: inner = 1) through one flat index over (o, i).
__global__ void bias_backward_kernel(int64_t outer, int64_t channels, int64_t inner,
                                     const float* dy, float* dbias) {
  __shared__ double shared[kThreads];
  const int64_t c = blockIdx.x;
  double total = 0;
  if (inner >= kThreads) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = dy + (o * channels + c) * inner;
      for (int64_t i = threadIdx.x; i < inner; i += kThreads) total += row[i];
    }
  } else {
    for (int64_t p = threadIdx.x; p < outer * inner; p += kThreads) {
      const int64_t o = p / inner, i = p % inner;
      total += dy[(o * channels + c) * inner + i];
    }
  }
  total = kernels::block_reduce(total, shared, kernels::Add{});
  if (threadIdx.x == 0) dbias[c] += static_cast<float>(total);
}

}  // namespace

size_t cuda_reduce_scratch_bytes() { return 64 * 1024; }

void cuda_set(int64_t n, float value, float* y, cudaStream_t stream) {
  if (n <= 0) return;
  set_kernel<<<kernels::elementwise_blocks(n), kThreads, 0, stream>>>(n, value, y);
  CUDA_CHECK_LAUNCH("set_kernel");
}

void cuda_copy(int64_t n, const float* x, float* y, cudaStream_t stream) {
  if (n <= 0 || x == y) return;
  CUDA_CHECK(cudaMemcpyAsync(y, x, static_cast<size_t>(n) * sizeof(float),
                                         cudaMemcpyDeviceToDevice, stream));
}

void cuda_axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (n <= 0) return;
  axpy_kernel<<<kernels::elementwise_blocks(n), kThreads, 0, stream>>>(n, alpha, x, y);
  CUDA_CHECK_LAUNCH("axpy_kernel");
}

void cuda_scale(int64_t n, float alpha, float* y, cudaStream_t stream) {
  if (n <= 0) return;
  scale_kernel<<<kernels::elementwise_blocks(n), kThreads, 0, stream>>>(n, alpha, y);
  CUDA_CHECK_LAUNCH("scale_kernel");
}

void cuda_sum_squares(int64_t n, const float* x, double* result, void* scratch,
                      cudaStream_t stream) {
  if (n <= 0) {
    CUDA_CHECK(cudaMemsetAsync(result, 0, sizeof(double), stream));
    return;
  }
  auto* partials = static_cast<double*>(scratch);
  const int blocks = kernels::reduce_blocks(n);
  sum_squares_kernel<<<blocks, kThreads, 0, stream>>>(n, x, partials);
  CUDA_CHECK_LAUNCH("sum_squares_kernel");
  kernels::combine_partials_kernel<<<1, kThreads, 0, stream>>>(
      static_cast<const double*>(partials), blocks, 0.0, kernels::Add{}, StoreDouble{result});
  CUDA_CHECK_LAUNCH("combine_partials_kernel(sum_squares)");
}

void cuda_copy_2d(int64_t rows, int64_t cols, const float* src, int64_t src_stride, float* dst,
                  int64_t dst_stride, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  CUDA_CHECK(cudaMemcpy2DAsync(
      dst, static_cast<size_t>(dst_stride) * sizeof(float), src,
      static_cast<size_t>(src_stride) * sizeof(float), static_cast<size_t>(cols) * sizeof(float),
      static_cast<size_t>(rows), cudaMemcpyDeviceToDevice, stream));
}

void cuda_add_bias(int64_t outer, int64_t channels, int64_t inner, const float* bias, float* y,
                   cudaStream_t stream) {
  const int64_t total = outer * channels * inner;
  if (total <= 0) return;
  add_bias_kernel<<<kernels::elementwise_blocks(total), kThreads, 0, stream>>>(total, channels,
                                                                              inner, bias, y);
  CUDA_CHECK_LAUNCH("add_bias_kernel");
}

void cuda_bias_backward(int64_t outer, int64_t channels, int64_t inner, const float* dy,
                        float* dbias, cudaStream_t stream) {
  if (channels <= 0) return;
  CUDA_REQUIRE(channels < (int64_t(1) << 31), "cuda_bias_backward");
  bias_backward_kernel<<<static_cast<unsigned>(channels), kThreads, 0, stream>>>(
      outer, channels, inner, dy, dbias);
  CUDA_CHECK_LAUNCH("bias_backward_kernel");
}

}  // namespace digits
