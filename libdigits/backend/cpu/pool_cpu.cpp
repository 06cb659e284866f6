// Max and average pooling, CPU reference, with Caffe's exact semantics.
//
// Output position (oy, ox) of a plane covers rows [oy*sh - ph, oy*sh - ph + kh) and columns
// [ox*sw - pw, ox*sw - pw + kw) of the padded input (PoolShape::out_h/out_w give the output
// size by Caffe's ceil rule). Max pooling looks only at the part of the window inside the
// input; the first maximum in row-major order wins ties. Average pooling sums the part inside
// the input and divides by the window clipped to the padded input, so padding counts as zeros
// except where the window hangs past the padding on the bottom/right (Caffe's rule).
// Planes (n*c of them) are independent and are shared out among threads.
#include <algorithm>
#include <cfloat>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

namespace {

constexpr int64_t kParallelMin = 32768;

// One output position's window, clipped to the input ([y0, y1) x [x0, x1)), and the divisor
// of average pooling (the window clipped to the padded input).
// A window can be empty only without padding and with a stride above the kernel, where the
// ceil rule adds a last window past the input (Caffe then outputs -FLT_MAX for max pooling; for
// average pooling we output 0 rather than divide by a negative size).
struct Window {
  int64_t y0, y1, x0, x1, divisor;
  bool empty() const { return y1 <= y0 || x1 <= x0; }
};

Window window(const PoolShape& s, int64_t oy, int64_t ox) {
  Window win;
  int64_t y0 = oy * s.sh - s.ph, x0 = ox * s.sw - s.pw;
  int64_t y1 = std::min(y0 + s.kh, s.h + s.ph), x1 = std::min(x0 + s.kw, s.w + s.pw);
  win.divisor = (y1 - y0) * (x1 - x0);
  win.y0 = std::max<int64_t>(y0, 0);
  win.x0 = std::max<int64_t>(x0, 0);
  win.y1 = std::min(y1, s.h);
  win.x1 = std::min(x1, s.w);
  return win;
}

// The flat index (y*w + x) of the window's first maximum in plane x, or -1 when the window
// holds no value greater than -FLT_MAX (only NaNs or -inf), as Caffe.
int64_t window_argmax(const PoolShape& s, const Window& win, const float* plane, float* max_out) {
  float best = -FLT_MAX;
  int64_t best_index = -1;
  for (int64_t y = win.y0; y < win.y1; ++y)
    for (int64_t x = win.x0; x < win.x1; ++x) {
      const int64_t index = y * s.w + x;
      if (plane[index] > best) {
        best = plane[index];
        best_index = index;
      }
    }
  *max_out = best;
  return best_index;
}

void check_shape(const PoolShape& s, const char* op) {
  DIGITS_CHECK(s.kh >= 1 && s.kw >= 1 && s.sh >= 1 && s.sw >= 1 && s.ph >= 0 && s.pw >= 0 &&
                   s.ph < s.kh && s.pw < s.kw,
               "{}: {}: invalid kernel, stride or padding (padding must be below the kernel)", op,
               s.describe());
  DIGITS_CHECK(s.out_h() >= 1 && s.out_w() >= 1, "{}: {}: kernel larger than the padded input",
               op, s.describe());
}

}  // namespace

// y (n, c, oh, ow) = the max or mean of each window of x (n, c, h, w); `=`. For max pooling,
// mask (y's shape, nullable) receives the flat index y*w+x of each maximum within its plane.
void CpuBackend::pool_forward(const PoolShape& s, const float* x, float* y, float* mask) {
  check_shape(s, "pool_forward");
  const int64_t oh = s.out_h(), ow = s.out_w();
  const int64_t planes = s.n * s.c, in_plane = s.h * s.w, out_plane = oh * ow;
#pragma omp parallel for if (planes * in_plane > kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * in_plane;
    float* yp = y + p * out_plane;
    float* mp = mask ? mask + p * out_plane : nullptr;
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const Window win = window(s, oy, ox);
        const int64_t o = oy * ow + ox;
        if (s.method == PoolMethod::max) {
          float best;
          const int64_t index = window_argmax(s, win, xp, &best);
          yp[o] = best;
          if (mp) mp[o] = static_cast<float>(index);
        } else {
          float sum = 0.0f;
          for (int64_t yy = win.y0; yy < win.y1; ++yy)
            for (int64_t xx = win.x0; xx < win.x1; ++xx) sum += xp[yy * s.w + xx];
          yp[o] = win.empty() ? 0.0f : sum / static_cast<float>(win.divisor);
        }
      }
  }
}

// dx (n, c, h, w) = the gradient of pooling given dy; `=`. Max pooling routes each dy to its
// window's maximum: the index in mask when given, else recomputed from x (same tie rule as the
// forward, so y is not needed). Average pooling spreads dy / divisor over the window.
void CpuBackend::pool_backward(const PoolShape& s, const float* x, const float* /*y*/,
                               const float* dy, const float* mask, float* dx) {
  check_shape(s, "pool_backward");
  const int64_t oh = s.out_h(), ow = s.out_w();
  const int64_t planes = s.n * s.c, in_plane = s.h * s.w, out_plane = oh * ow;
#pragma omp parallel for if (planes * in_plane > kParallelMin)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * in_plane;
    const float* dyp = dy + p * out_plane;
    const float* mp = mask ? mask + p * out_plane : nullptr;
    float* dxp = dx + p * in_plane;
    std::memset(dxp, 0, static_cast<size_t>(in_plane) * sizeof(float));
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const int64_t o = oy * ow + ox;
        const Window win = window(s, oy, ox);
        if (s.method == PoolMethod::max) {
          int64_t index;
          if (mp) {
            index = static_cast<int64_t>(mp[o]);
          } else {
            float best;
            index = window_argmax(s, win, xp, &best);
          }
          if (index >= 0 && index < in_plane) dxp[index] += dyp[o];
        } else {
          if (win.empty()) continue;
          const float share = dyp[o] / static_cast<float>(win.divisor);
          for (int64_t yy = win.y0; yy < win.y1; ++yy)
            for (int64_t xx = win.x0; xx < win.x1; ++xx) dxp[yy * s.w + xx] += share;
        }
      }
  }
}

}  // namespace digits
