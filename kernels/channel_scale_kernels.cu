// Caffe's Scale layer (a per-channel gamma and beta) on the GPU; the CPU twin is
// channel_scale_forward/backward in backend/cpu/batchnorm_cpu.cpp.
#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

// y = x * gamma[ch] + beta[ch] (beta nullable), x viewed as (n, c, spatial), `=`.
__global__ void channel_scale_forward_kernel(int64_t total, int64_t c, int64_t spatial,
                                             const float* x, const float* gamma,
                                             const float* beta, float* y) {
  DIGITS_KERNEL_LOOP(e, total) {
    const int64_t ch = (e / spatial) % c;
    y[e] = x[e] * gamma[ch] + (beta ? beta[ch] : 0.0f);
  }
}

struct SumPair {
  double dy_x, dy;
};

struct AddPair {
  __device__ SumPair operator()(const SumPair& a, const SumPair& b) const {
    return SumPair{a.dy_x + b.dy_x, a.dy + b.dy};
  }
};

// One block per channel: the parameter sums (double, fixed order) first, then dx = dy * gamma.
// Every dy of the channel is read before the block barrier inside block_reduce and only this
// block writes the channel's dx, so dx may alias dy.
__global__ void channel_scale_backward_kernel(int64_t n, int64_t c, int64_t spatial,
                                              const float* x, const float* gamma,
                                              const float* dy, float* dx, float* dgamma,
                                              float* dbeta) {
  __shared__ SumPair shared[kThreads];
  const int64_t ch = blockIdx.x;
  const int64_t per_channel = n * spatial;
  // Planes at least a block wide are walked plane by plane (coalesced, no index division);
  // small ones through one flat index over (b, s).
  const bool by_plane = spatial >= kThreads;
  SumPair sums{0.0, 0.0};
  if (dgamma || dbeta) {
    if (by_plane) {
      for (int64_t b = 0; b < n; ++b)
        for (int64_t s = threadIdx.x; s < spatial; s += kThreads) {
          const int64_t e = (b * c + ch) * spatial + s;
          sums.dy_x += static_cast<double>(dy[e]) * x[e];
          sums.dy += dy[e];
        }
    } else {
      for (int64_t p = threadIdx.x; p < per_channel; p += kThreads) {
        const int64_t e = ((p / spatial) * c + ch) * spatial + p % spatial;
        sums.dy_x += static_cast<double>(dy[e]) * x[e];
        sums.dy += dy[e];
      }
    }
  }
  sums = kernels::block_reduce(sums, shared, AddPair{});
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[ch] += static_cast<float>(sums.dy_x);
    if (dbeta) dbeta[ch] += static_cast<float>(sums.dy);
  }
  const float g = gamma[ch];
  if (by_plane) {
    for (int64_t b = 0; b < n; ++b)
      for (int64_t s = threadIdx.x; s < spatial; s += kThreads) {
        const int64_t e = (b * c + ch) * spatial + s;
        dx[e] = dy[e] * g;
      }
  } else {
    for (int64_t p = threadIdx.x; p < per_channel; p += kThreads) {
      const int64_t e = ((p / spatial) * c + ch) * spatial + p % spatial;
      dx[e] = dy[e] * g;
    }
  }
}

}  // namespace

void cuda_channel_scale_forward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                const float* gamma, const float* beta, float* y,
                                cudaStream_t stream) {
  const int64_t total = n * c * spatial;
  if (total <= 0) return;
  channel_scale_forward_kernel<<<kernels::elementwise_blocks(total), kThreads, 0, stream>>>(
      total, c, spatial, x, gamma, beta, y);
  CUDA_CHECK_LAUNCH("channel_scale_forward_kernel");
}

void cuda_channel_scale_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                 const float* gamma, const float* dy, float* dx, float* dgamma,
                                 float* dbeta, cudaStream_t stream) {
  if (c <= 0) return;
  CUDA_REQUIRE(c < (int64_t(1) << 31), "cuda_channel_scale_backward");
  channel_scale_backward_kernel<<<static_cast<unsigned>(c), kThreads, 0, stream>>>(
      n, c, spatial, x, gamma, dy, dx, dgamma, dbeta);
  CUDA_CHECK_LAUNCH("channel_scale_backward_kernel");
}

}  // namespace digits
