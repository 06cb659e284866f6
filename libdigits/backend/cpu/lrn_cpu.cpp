// Local response normalization across channels, CPU reference, Caffe's formulas.
//
// For channel c the window is the `size` channels [c - pre, c - pre + size), pre = (size-1)/2
// (centred on c for odd sizes), clipped to [0, C):
//   scale[c] = k + alpha/size * sum over the window of x[c']^2
//   y[c]     = x[c] * scale[c]^-beta
// and the gradient, where c' ranges over the channels whose window holds c:
//   dx[c] = dy[c] * scale[c]^-beta - 2*alpha*beta/size * x[c] * sum_c' dy[c'] y[c'] / scale[c']
//
// Work is split into tasks of one image and a run of kChunk spatial positions, all channels,
// so the channel windows of a task stay in cache and one image still keeps every thread busy.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

namespace {

constexpr int64_t kChunk = 256;         // spatial positions per task
constexpr int64_t kParallelMin = 32768; // below this many elements, one thread

// scale^-beta; beta = 0.75 (AlexNet and every DIGITS network) without the cost of pow.
inline float pow_minus_beta(float scale, float beta) {
  if (beta == 0.75f) {
    const float root = std::sqrt(scale);
    return 1.0f / (root * std::sqrt(root));
  }
  return std::pow(scale, -beta);
}

void check_params(const LrnParams& p, const char* op) {
  DIGITS_CHECK(p.size >= 1, "{}: local size must be positive, got {}", op, p.size);
}

}  // namespace

// y and scale (n, c, h, w) from x by the formulas above; `=` (both).
void CpuBackend::lrn_forward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                             const float* x, float* scale, float* y) {
  check_params(p, "lrn_forward");
  const int64_t spatial = h * w, chunks = (spatial + kChunk - 1) / kChunk;
  const int64_t pre = (p.size - 1) / 2;
  const float alpha_over_size = p.alpha / static_cast<float>(p.size);
#pragma omp parallel for schedule(static) if (n * c * spatial > kParallelMin)
  for (int64_t task = 0; task < n * chunks; ++task) {
    const int64_t b = task / chunks, s0 = (task % chunks) * kChunk;
    const int64_t len = std::min(kChunk, spatial - s0);
    const int64_t base = b * c * spatial + s0;  // offset of (b, 0, s0)
    float sum[kChunk];
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t lo = std::max<int64_t>(0, ch - pre), hi = std::min(c, ch - pre + p.size);
      std::fill_n(sum, len, 0.0f);
      for (int64_t other = lo; other < hi; ++other) {
        const float* xs = x + base + other * spatial;
        for (int64_t i = 0; i < len; ++i) sum[i] += xs[i] * xs[i];
      }
      const int64_t at = base + ch * spatial;
      for (int64_t i = 0; i < len; ++i) {
        const float sc = p.k + alpha_over_size * sum[i];
        scale[at + i] = sc;
        y[at + i] = x[at + i] * pow_minus_beta(sc, p.beta);
      }
    }
  }
}

// dx (n, c, h, w) from x, y, scale and dy by the formula above; `=`. dx must not alias dy.
void CpuBackend::lrn_backward(const LrnParams& p, int64_t n, int64_t c, int64_t h, int64_t w,
                              const float* x, const float* y, const float* scale,
                              const float* dy, float* dx) {
  check_params(p, "lrn_backward");
  const int64_t spatial = h * w, chunks = (spatial + kChunk - 1) / kChunk;
  const int64_t pre = (p.size - 1) / 2;
  const float cache_ratio = 2.0f * p.alpha * p.beta / static_cast<float>(p.size);
  const int threads = n * c * spatial > kParallelMin ? omp_get_max_threads() : 1;
  // Per thread: ratio (c, kChunk) = dy * y / scale for the task's positions.
  float* ratio_all = workspace(static_cast<size_t>(threads) * c * kChunk);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t task = 0; task < n * chunks; ++task) {
    const int64_t b = task / chunks, s0 = (task % chunks) * kChunk;
    const int64_t len = std::min(kChunk, spatial - s0);
    const int64_t base = b * c * spatial + s0;
    float* ratio = ratio_all + static_cast<int64_t>(omp_get_thread_num()) * c * kChunk;
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t at = base + ch * spatial;
      for (int64_t i = 0; i < len; ++i)
        ratio[ch * kChunk + i] = dy[at + i] * y[at + i] / scale[at + i];
    }
    float accum[kChunk];
    for (int64_t ch = 0; ch < c; ++ch) {
      // Channels c' whose window [c' - pre, c' - pre + size) holds ch.
      const int64_t lo = std::max<int64_t>(0, ch + pre - p.size + 1);
      const int64_t hi = std::min(c, ch + pre + 1);
      std::fill_n(accum, len, 0.0f);
      for (int64_t other = lo; other < hi; ++other) {
        const float* r = ratio + other * kChunk;
        for (int64_t i = 0; i < len; ++i) accum[i] += r[i];
      }
      const int64_t at = base + ch * spatial;
      for (int64_t i = 0; i < len; ++i)
        dx[at + i] = dy[at + i] * pow_minus_beta(scale[at + i], p.beta) -
                     cache_ratio * x[at + i] * accum[i];
    }
  }
}

}  // namespace digits
