// Max and average pooling on the GPU with Caffe's exact semantics (see kernels/cuda_ops.h and
// backend/cpu/pool_cpu.cpp, the spec: window placement, ceil output rule, tie rule, divisor).
#include <cfloat>

#include "kernels/cuda_ops.h"
#include "kernels/kernel_util.cuh"

namespace digits {

namespace {

using kernels::elementwise_blocks;
using kernels::kThreads;

// The shape as plain values for the device.
struct PoolDims {
  int64_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
  bool max;
};

PoolDims dims_of(const PoolShape& s) {
  return PoolDims{s.n * s.c, s.h,  s.w,  s.out_h(), s.out_w(), s.kh,
                  s.kw,      s.sh, s.sw, s.ph,      s.pw,      s.method == PoolMethod::max};
}

// One output position's window clipped to the input, and average pooling's divisor (the window
// clipped to the padded input), exactly as pool_cpu.cpp's window().
struct Window {
  int64_t y0, y1, x0, x1, divisor;
};

__device__ Window window(const PoolDims& d, int64_t oy, int64_t ox) {
  Window win;
  const int64_t y0 = oy * d.sh - d.ph, x0 = ox * d.sw - d.pw;
  const int64_t y1 = min(y0 + d.kh, d.h + d.ph), x1 = min(x0 + d.kw, d.w + d.pw);
  win.divisor = (y1 - y0) * (x1 - x0);
  win.y0 = max(y0, int64_t(0));
  win.x0 = max(x0, int64_t(0));
  win.y1 = min(y1, d.h);
  win.x1 = min(x1, d.w);
  return win;
}

// The flat index of the window's first maximum in row-major order, -1 when no value beats
// -FLT_MAX (Caffe's rule, as pool_cpu.cpp's window_argmax).
__device__ int64_t window_argmax(const PoolDims& d, const Window& win, const float* plane,
                                 float* max_out) {
  float best = -FLT_MAX;
  int64_t best_index = -1;
  for (int64_t y = win.y0; y < win.y1; ++y)
    for (int64_t x = win.x0; x < win.x1; ++x) {
      const int64_t index = y * d.w + x;
      const float value = plane[index];
      if (value > best) {
        best = value;
        best_index = index;
      }
    }
  *max_out = best;
  return best_index;
}

__global__ void pool_forward_kernel(PoolDims d, const float* x, float* y, float* mask) {
  const int64_t total = d.planes * d.oh * d.ow;
  DIGITS_KERNEL_LOOP(i, total) {
    const int64_t ox = i % d.ow, oy = (i / d.ow) % d.oh, p = i / (d.ow * d.oh);
    const float* plane = x + p * d.h * d.w;
    const Window win = window(d, oy, ox);
    if (d.max) {
      float best;
      const int64_t index = window_argmax(d, win, plane, &best);
      y[i] = best;
      if (mask) mask[i] = static_cast<float>(index);
    } else {
      float sum = 0.0f;
      for (int64_t yy = win.y0; yy < win.y1; ++yy)
        for (int64_t xx = win.x0; xx < win.x1; ++xx) sum += plane[yy * d.w + xx];
      const bool empty = win.y1 <= win.y0 || win.x1 <= win.x0;
      y[i] = empty ? 0.0f : sum / static_cast<float>(win.divisor);
    }
  }
}

// One thread per input element: the outputs whose (unclipped) window holds row yy are
// oy in [first_oy, last_oy], likewise for columns; visited in output (row-major) order, the
// order in which the CPU adds them.
__global__ void pool_backward_kernel(PoolDims d, const float* x, const float* dy,
                                     const float* mask, float* dx) {
  const int64_t total = d.planes * d.h * d.w;
  DIGITS_KERNEL_LOOP(i, total) {
    const int64_t xx = i % d.w, yy = (i / d.w) % d.h, p = i / (d.w * d.h);
    const int64_t in_index = yy * d.w + xx;
    const int64_t first_oy = yy + d.ph < d.kh ? 0 : (yy + d.ph - d.kh) / d.sh + 1;
    const int64_t last_oy = min((yy + d.ph) / d.sh, d.oh - 1);
    const int64_t first_ox = xx + d.pw < d.kw ? 0 : (xx + d.pw - d.kw) / d.sw + 1;
    const int64_t last_ox = min((xx + d.pw) / d.sw, d.ow - 1);
    const float* plane = x + p * d.h * d.w;
    const float* dyp = dy + p * d.oh * d.ow;
    const float* mp = mask ? mask + p * d.oh * d.ow : nullptr;
    float sum = 0.0f;
    for (int64_t oy = first_oy; oy <= last_oy; ++oy)
      for (int64_t ox = first_ox; ox <= last_ox; ++ox) {
        const int64_t o = oy * d.ow + ox;
        if (d.max) {
          int64_t index;
          if (mp) {
            index = static_cast<int64_t>(mp[o]);
          } else {
            float best;
            index = window_argmax(d, window(d, oy, ox), plane, &best);
          }
          if (index == in_index) sum += dyp[o];
        } else {
          const Window win = window(d, oy, ox);
          // The clipped window holds (yy, xx) exactly when the unclipped one does; an empty
          // window holds nothing.
          if (win.y1 <= win.y0 || win.x1 <= win.x0) continue;
          sum += dyp[o] / static_cast<float>(win.divisor);
        }
      }
    dx[i] = sum;
  }
}

void check_shape(const PoolShape& s, const char* launcher) {
  CUDA_REQUIRE(s.kh >= 1 && s.kw >= 1 && s.sh >= 1 && s.sw >= 1 && s.ph >= 0 && s.pw >= 0 &&
                   s.ph < s.kh && s.pw < s.kw,
               launcher);
  CUDA_REQUIRE(s.out_h() >= 1 && s.out_w() >= 1, launcher);
}

}  // namespace

void cuda_pool_forward(const PoolShape& s, const float* x, float* y, float* mask,
                       cudaStream_t stream) {
  check_shape(s, "cuda_pool_forward");
  const PoolDims d = dims_of(s);
  const int64_t total = d.planes * d.oh * d.ow;
  if (total == 0) return;
  pool_forward_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(d, x, y, mask);
  CUDA_CHECK_LAUNCH("pool_forward_kernel");
}

void cuda_pool_backward(const PoolShape& s, const float* x, const float* dy, const float* mask,
                        float* dx, cudaStream_t stream) {
  check_shape(s, "cuda_pool_backward");
  const PoolDims d = dims_of(s);
  const int64_t total = d.planes * d.h * d.w;
  if (total == 0) return;
  pool_backward_kernel<<<elementwise_blocks(total), kThreads, 0, stream>>>(d, x, dy, mask, dx);
  CUDA_CHECK_LAUNCH("pool_backward_kernel");
}

}  // namespace digits
