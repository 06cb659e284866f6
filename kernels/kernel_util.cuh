// Device-side helpers shared by kernels/*_kernels.cu: grid sizes and the deterministic block
// reduction every reducing kernel uses. Included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda_check.h"

namespace digits::kernels {

// Threads per block for every kernel here. A power of two: block_reduce() halves it.
constexpr int kThreads = 256;

// Blocks for an elementwise kernel over n items with a grid-stride loop. Capped so the grid is
// always legal; each thread then handles several items.
inline int elementwise_blocks(int64_t n) {
  return static_cast<int>(std::clamp<int64_t>((n + kThreads - 1) / kThreads, 1, int64_t(1) << 20));
}

// A reduction's first pass has at most this many blocks, each writing one partial; the second
// pass (one block) combines the partials. The count depends on n only, never on the device, so
// the order of every addition is fixed and results are identical run to run.
constexpr int kReduceBlocks = 1024;
inline int reduce_blocks(int64_t n) {
  return static_cast<int>(std::clamp<int64_t>((n + kThreads - 1) / kThreads, 1, kReduceBlocks));
}

// Grid-stride loop over [0, n) with 64-bit indices.
#define DIGITS_KERNEL_LOOP(i, n)                                                      \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);           \
       i += int64_t(blockDim.x) * gridDim.x)

// Combines the `value` of every thread of the block (blockDim.x == kThreads) with `combine`, in
// a fixed tree order; the result is valid in thread 0. `shared` holds kThreads values. Every
// thread of the block must call it.
template <typename T, typename Combine>
__device__ T block_reduce(T value, T* shared, Combine combine) {
  const int tid = threadIdx.x;
  shared[tid] = value;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (tid < stride) shared[tid] = combine(shared[tid], shared[tid + stride]);
    __syncthreads();
  }
  return shared[0];
}

struct Add {
  template <typename T>
  __device__ T operator()(const T& a, const T& b) const {
    return a + b;
  }
};

// The second pass of a two-pass reduction: one block combines `count` partials (count <=
// kReduceBlocks), each thread first over a fixed stride, then the block tree; `finish` turns
// the total into the result (thread 0 only).
template <typename T, typename Combine, typename Finish>
__global__ void combine_partials_kernel(const T* partials, int count, T identity,
                                        Combine combine, Finish finish) {
  __shared__ T shared[kThreads];
  T value = identity;
  for (int i = threadIdx.x; i < count; i += kThreads) value = combine(value, partials[i]);
  value = block_reduce(value, shared, combine);
  if (threadIdx.x == 0) finish(value);
}

}  // namespace digits::kernels
