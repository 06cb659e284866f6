// Solver updates of the CPU backend: one fused loop per solver, with Caffe's formulas
// (sgd_solver.cpp, nesterov_solver.cpp, adagrad_solver.cpp, rmsprop_solver.cpp,
// adadelta_solver.cpp, adam_solver.cpp and their .cu kernels), in float like Caffe.
//
// For every solver the L2 weight decay is first added to the gradient (Caffe's Regularize):
//   g = g + weight_decay * w
// then, with lr the parameter's rate (policy rate * lr_mult):
//   sgd       h = momentum * h + lr * g;                        w -= h
//   nesterov  h' = momentum * h + lr * g;                       w -= (1 + momentum) * h' - momentum * h
//   adagrad   h += g^2;                                         w -= lr * g / (sqrt(h) + delta)
//   rmsprop   h = rms_decay * h + (1 - rms_decay) * g^2;        w -= lr * g / (sqrt(h) + delta)
//   adadelta  h1 = rho * h1 + (1 - rho) * g^2                   (rho = momentum; h1 = E[g^2])
//             u = g * sqrt((h2 + delta) / (h1 + delta))
//             h2 = rho * h2 + (1 - rho) * u^2                   (h2 = E[dx^2])
//             w -= lr * u
//   adam      m = beta1 * m + (1 - beta1) * g                   (beta1 = momentum, m = h1)
//             v = beta2 * v + (1 - beta2) * g^2                 (beta2 = momentum2, v = h2)
//             w -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + delta)
// The gradient g is left holding g + weight_decay * w (the contract allows modifying it; the
// solver clears it afterwards).
#include <cmath>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

namespace {

constexpr int64_t kParallelThreshold = 65536;

void sgd_update(const SolverStep& s, int64_t n, float* w, float* g, float* h) {
  const float lr = s.lr, momentum = s.momentum, decay = s.weight_decay;
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] + decay * w[i];
    g[i] = gi;
    float hi = momentum * h[i] + lr * gi;
    h[i] = hi;
    w[i] -= hi;
  }
}

void nesterov_update(const SolverStep& s, int64_t n, float* w, float* g, float* h) {
  const float lr = s.lr, momentum = s.momentum, decay = s.weight_decay;
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] + decay * w[i];
    g[i] = gi;
    float h_old = h[i];
    float h_new = momentum * h_old + lr * gi;
    h[i] = h_new;
    // Step back by the old momentum, then over-step along the new one.
    w[i] -= (1.0f + momentum) * h_new - momentum * h_old;
  }
}

void adagrad_update(const SolverStep& s, int64_t n, float* w, float* g, float* h) {
  const float lr = s.lr, delta = s.delta, decay = s.weight_decay;
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] + decay * w[i];
    g[i] = gi;
    float hi = h[i] + gi * gi;
    h[i] = hi;
    w[i] -= lr * gi / (std::sqrt(hi) + delta);
  }
}

void rmsprop_update(const SolverStep& s, int64_t n, float* w, float* g, float* h) {
  const float lr = s.lr, delta = s.delta, decay = s.weight_decay, rms_decay = s.rms_decay;
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] + decay * w[i];
    g[i] = gi;
    float hi = rms_decay * h[i] + (1.0f - rms_decay) * gi * gi;
    h[i] = hi;
    w[i] -= lr * gi / (std::sqrt(hi) + delta);
  }
}

void adadelta_update(const SolverStep& s, int64_t n, float* w, float* g, float* h1, float* h2) {
  const float lr = s.lr, delta = s.delta, decay = s.weight_decay, rho = s.momentum;
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] + decay * w[i];
    g[i] = gi;
    float mean_g2 = rho * h1[i] + (1.0f - rho) * gi * gi;
    h1[i] = mean_g2;
    float update = gi * std::sqrt((h2[i] + delta) / (mean_g2 + delta));
    h2[i] = rho * h2[i] + (1.0f - rho) * update * update;
    w[i] -= lr * update;
  }
}

void adam_update(const SolverStep& s, int64_t n, float* w, float* g, float* m, float* v) {
  const float beta1 = s.momentum, beta2 = s.momentum2, eps = s.delta, decay = s.weight_decay;
  // Bias correction, as Caffe computes it (t counts updates from 1).
  const double t = static_cast<double>(s.t);
  const float correction = static_cast<float>(std::sqrt(1.0 - std::pow(double(beta2), t)) /
                                              (1.0 - std::pow(double(beta1), t)));
  const float rate = s.lr * correction;
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] + decay * w[i];
    g[i] = gi;
    float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= rate * mi / (std::sqrt(vi) + eps);
  }
}

}  // namespace

void CpuBackend::solver_update(const SolverStep& step, int64_t n, float* w, float* g, float* h1,
                               float* h2) {
  if (n == 0) return;
  DIGITS_CHECK(w && g && h1, "solver_update needs weights, gradient and history");
  switch (step.type) {
    case SolverType::sgd: sgd_update(step, n, w, g, h1); return;
    case SolverType::nesterov: nesterov_update(step, n, w, g, h1); return;
    case SolverType::adagrad: adagrad_update(step, n, w, g, h1); return;
    case SolverType::rmsprop: rmsprop_update(step, n, w, g, h1); return;
    case SolverType::adadelta:
      DIGITS_CHECK(h2, "adadelta needs two history buffers");
      adadelta_update(step, n, w, g, h1, h2);
      return;
    case SolverType::adam:
      DIGITS_CHECK(h2, "adam needs two history buffers");
      DIGITS_CHECK(step.t >= 1, "adam step count t={} must start at 1", step.t);
      adam_update(step, n, w, g, h1, h2);
      return;
  }
  fail_runtime("cpu backend: solver_update: unknown solver type {}", static_cast<int>(step.type));
}

}  // namespace digits
