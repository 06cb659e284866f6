// Elementwise activations and Caffe's Power op, CPU reference.
//
// Backward of the activations reads only y (never x): layers run them in place, where x has
// been overwritten by y by the time backward runs. That is why ReLU and ELU require alpha >= 0
// (their layers check it): then y > 0 exactly when x > 0.
#include <cmath>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

namespace {
// Below this many elements a loop runs on one thread: spawning costs more than it saves.
constexpr int64_t kParallelMin = 32768;
}  // namespace

// y = f(x), `=`. y may alias x.
void CpuBackend::activation_forward(Activation act, float alpha, int64_t n, const float* x,
                                    float* y) {
  switch (act) {
    case Activation::relu:
      // Caffe's leaky ReLU: x for x > 0, alpha * x otherwise (alpha = 0: plain ReLU).
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
      return;
    case Activation::sigmoid:
      // 1 / (1 + e^-x): e^-x overflows to inf for very negative x, giving exactly 0.
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
      return;
    case Activation::tanh:
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      return;
    case Activation::elu:
      // x for x > 0, alpha * (e^x - 1) otherwise; expm1 keeps precision near 0.
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * std::expm1(x[i]);
      return;
  }
  fail_runtime("cpu backend: activation_forward: unknown activation {}", static_cast<int>(act));
}

// dx = dy * f'(x), expressed through y only; `=`. dx may alias dy. x is unused (may be y).
void CpuBackend::activation_backward(Activation act, float alpha, int64_t n, const float* /*x*/,
                                     const float* y, const float* dy, float* dx) {
  switch (act) {
    case Activation::relu:
      // y > 0 iff x > 0 (alpha >= 0); at the kink x = 0 the slope taken is alpha, as Caffe.
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : alpha * dy[i];
      return;
    case Activation::sigmoid:
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::tanh:
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::elu:
      // For x <= 0: d/dx alpha (e^x - 1) = alpha e^x = y + alpha.
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + alpha);
      return;
  }
  fail_runtime("cpu backend: activation_backward: unknown activation {}", static_cast<int>(act));
}

// y = (shift + scale * x) ^ power, `=`. Not in place (backward needs x).
void CpuBackend::power_forward(int64_t n, float power, float scale, float shift, const float* x,
                               float* y) {
  if (power == 1.0f) {
#pragma omp parallel for simd if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) y[i] = shift + scale * x[i];
    return;
  }
  if (power == 2.0f) {
#pragma omp parallel for simd if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      float base = shift + scale * x[i];
      y[i] = base * base;
    }
    return;
  }
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = std::pow(shift + scale * x[i], power);
}

// dx = dy * power * scale * (shift + scale * x) ^ (power - 1), `=`. Computed from x, not as
// y / base as Caffe does, so base = 0 gives the right limit instead of 0/0.
void CpuBackend::power_backward(int64_t n, float power, float scale, float shift, const float* x,
                                const float* /*y*/, const float* dy, float* dx) {
  if (power == 0.0f || scale == 0.0f) {
    // y is constant in x.
#pragma omp parallel for simd if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dx[i] = 0.0f;
    return;
  }
  if (power == 1.0f) {
#pragma omp parallel for simd if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dx[i] = scale * dy[i];
    return;
  }
  if (power == 2.0f) {
#pragma omp parallel for simd if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dx[i] = 2.0f * scale * (shift + scale * x[i]) * dy[i];
    return;
  }
  const float factor = power * scale;
#pragma omp parallel for if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i)
    dx[i] = factor * std::pow(shift + scale * x[i], power - 1.0f) * dy[i];
}

}  // namespace digits
