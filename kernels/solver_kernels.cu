// Solver updates on the GPU: one fused kernel per solver, Caffe's formulas exactly as the CPU
// twin backend/cpu/solver_cpu.cpp writes them (see its header comment for the equations). Every
// kernel first adds the L2 weight decay into the gradient (g = g + weight_decay * w) and leaves
// it there.
#include <cmath>

#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

// h = momentum * h + lr * g; w -= h
__global__ void sgd_kernel(int64_t n, float lr, float momentum, float decay, float* w, float* g,
                           float* h) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float gi = g[i] + decay * w[i];
    g[i] = gi;
    const float hi = momentum * h[i] + lr * gi;
    h[i] = hi;
    w[i] -= hi;
  }
}

// h' = momentum * h + lr * g; w -= (1 + momentum) * h' - momentum * h
__global__ void nesterov_kernel(int64_t n, float lr, float momentum, float decay, float* w,
                                float* g, float* h) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float gi = g[i] + decay * w[i];
    g[i] = gi;
    const float h_old = h[i];
    const float h_new = momentum * h_old + lr * gi;
    h[i] = h_new;
    w[i] -= (1.0f + momentum) * h_new - momentum * h_old;
  }
}

// h += g^2; w -= lr * g / (sqrt(h) + delta)
__global__ void adagrad_kernel(int64_t n, float lr, float delta, float decay, float* w, float* g,
                               float* h) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float gi = g[i] + decay * w[i];
    g[i] = gi;
    const float hi = h[i] + gi * gi;
    h[i] = hi;
    w[i] -= lr * gi / (sqrtf(hi) + delta);
  }
}

// h = rms_decay * h + (1 - rms_decay) * g^2; w -= lr * g / (sqrt(h) + delta)
__global__ void rmsprop_kernel(int64_t n, float lr, float delta, float decay, float rms_decay,
                               float* w, float* g, float* h) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float gi = g[i] + decay * w[i];
    g[i] = gi;
    const float hi = rms_decay * h[i] + (1.0f - rms_decay) * gi * gi;
    h[i] = hi;
    w[i] -= lr * gi / (sqrtf(hi) + delta);
  }
}

// h1 = rho * h1 + (1 - rho) * g^2; u = g * sqrt((h2 + delta) / (h1 + delta));
// h2 = rho * h2 + (1 - rho) * u^2; w -= lr * u
__global__ void adadelta_kernel(int64_t n, float lr, float delta, float decay, float rho,
                                float* w, float* g, float* h1, float* h2) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float gi = g[i] + decay * w[i];
    g[i] = gi;
    const float mean_g2 = rho * h1[i] + (1.0f - rho) * gi * gi;
    h1[i] = mean_g2;
    const float update = gi * sqrtf((h2[i] + delta) / (mean_g2 + delta));
    h2[i] = rho * h2[i] + (1.0f - rho) * update * update;
    w[i] -= lr * update;
  }
}

// m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
// w -= rate * m / (sqrt(v) + eps), rate = lr * sqrt(1 - beta2^t) / (1 - beta1^t) (host).
__global__ void adam_kernel(int64_t n, float rate, float beta1, float beta2, float eps,
                            float decay, float* w, float* g, float* m, float* v) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float gi = g[i] + decay * w[i];
    g[i] = gi;
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= rate * mi / (sqrtf(vi) + eps);
  }
}

}  // namespace

void cuda_solver_update(const SolverStep& s, int64_t n, float* w, float* g, float* h1, float* h2,
                        cudaStream_t stream) {
  if (n <= 0) return;
  CUDA_REQUIRE(w && g && h1, "cuda_solver_update");
  const int blocks = kernels::elementwise_blocks(n);
  switch (s.type) {
    case SolverType::sgd:
      sgd_kernel<<<blocks, kThreads, 0, stream>>>(n, s.lr, s.momentum, s.weight_decay, w, g, h1);
      CUDA_CHECK_LAUNCH("sgd_kernel");
      return;
    case SolverType::nesterov:
      nesterov_kernel<<<blocks, kThreads, 0, stream>>>(n, s.lr, s.momentum, s.weight_decay, w, g,
                                                       h1);
      CUDA_CHECK_LAUNCH("nesterov_kernel");
      return;
    case SolverType::adagrad:
      adagrad_kernel<<<blocks, kThreads, 0, stream>>>(n, s.lr, s.delta, s.weight_decay, w, g, h1);
      CUDA_CHECK_LAUNCH("adagrad_kernel");
      return;
    case SolverType::rmsprop:
      rmsprop_kernel<<<blocks, kThreads, 0, stream>>>(n, s.lr, s.delta, s.weight_decay,
                                                      s.rms_decay, w, g, h1);
      CUDA_CHECK_LAUNCH("rmsprop_kernel");
      return;
    case SolverType::adadelta:
      CUDA_REQUIRE(h2 != nullptr, "cuda_solver_update(adadelta)");
      adadelta_kernel<<<blocks, kThreads, 0, stream>>>(n, s.lr, s.delta, s.weight_decay,
                                                       s.momentum, w, g, h1, h2);
      CUDA_CHECK_LAUNCH("adadelta_kernel");
      return;
    case SolverType::adam: {
      CUDA_REQUIRE(h2 != nullptr, "cuda_solver_update(adam)");
      CUDA_REQUIRE(s.t >= 1, "cuda_solver_update(adam)");
      // Bias correction in double, exactly as the CPU computes it.
      const double t = static_cast<double>(s.t);
      const float correction =
          static_cast<float>(std::sqrt(1.0 - std::pow(double(s.momentum2), t)) /
                             (1.0 - std::pow(double(s.momentum), t)));
      const float rate = s.lr * correction;
      adam_kernel<<<blocks, kThreads, 0, stream>>>(n, rate, s.momentum, s.momentum2, s.delta,
                                                   s.weight_decay, w, g, h1, h2);
      CUDA_CHECK_LAUNCH("adam_kernel");
      return;
    }
  }
  CUDA_REQUIRE(false && "unknown solver type", "cuda_solver_update");
}

}  // namespace digits
