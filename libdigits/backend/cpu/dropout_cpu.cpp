// Dropout, CPU reference. The mask is counter-based (core/rng.h counter_uniform): element i
// draws from (seed, offset + i) alone, so every backend and every thread count produce the same
// mask for the same seed and offset.
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "core/rng.h"

namespace digits {

namespace {
constexpr int64_t kParallelMin = 32768;
}  // namespace

// mask[i] = counter_uniform(seed, offset + i) >= ratio ? 1 / (1 - ratio) : 0; y = x * mask.
// `=` for both. ratio in [0, 1). y may alias x.
void CpuBackend::dropout_forward(int64_t n, float ratio, uint64_t seed, uint64_t offset,
                                 const float* x, float* mask, float* y) {
  DIGITS_CHECK(ratio >= 0.0f && ratio < 1.0f, "dropout ratio {} outside [0, 1)", ratio);
  const float keep_scale = 1.0f / (1.0f - ratio);
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float m =
        counter_uniform(seed, offset + static_cast<uint64_t>(i)) >= ratio ? keep_scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

// dx = dy * mask, `=`. dx may alias dy.
void CpuBackend::dropout_backward(int64_t n, const float* mask, const float* dy, float* dx) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}

}  // namespace digits
