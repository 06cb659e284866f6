// Batch normalization (no affine, Caffe's BatchNorm) and the per-channel affine that follows it
// (Caffe's Scale), CPU reference. x is viewed as (n, c, spatial); statistics are per channel
// over the m = n * spatial values of that channel. Element (b, ch, s) is at
// (b * c + ch) * spatial + s. Work is split across channels; sums are accumulated in double.
#include <cmath>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

namespace {
constexpr int64_t kParallelMin = 32768;
}  // namespace

// y = (x - mean) * invstd with the batch's mean and biased variance, invstd = 1/sqrt(var + eps);
// `=`. save_mean/save_invstd (c) receive them for backward. running_mean/running_var (c) are
// updated in place: running = momentum * running + (1 - momentum) * batch, with the unbiased
// variance var * m / (m - 1) (the biased one when m = 1). y may alias x.
void CpuBackend::batchnorm_forward_train(int64_t n, int64_t c, int64_t spatial, float eps,
                                         float momentum, const float* x, float* y,
                                         float* running_mean, float* running_var,
                                         float* save_mean, float* save_invstd) {
  const int64_t m = n * spatial;
  DIGITS_CHECK(m > 0, "batchnorm over an empty batch (n={}, spatial={})", n, spatial);
  const double unbias = m > 1 ? static_cast<double>(m) / static_cast<double>(m - 1) : 1.0;
#pragma omp parallel for if (n * c * spatial > kParallelMin)
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0;
    for (int64_t b = 0; b < n; ++b) {
      const float* row = x + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) sum += row[s];
    }
    const double mean = sum / static_cast<double>(m);
    // Two passes (mean, then squared deviations): no cancellation as with E[x^2] - E[x]^2.
    double squares = 0;
    for (int64_t b = 0; b < n; ++b) {
      const float* row = x + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) {
        const double d = row[s] - mean;
        squares += d * d;
      }
    }
    const double var = squares / static_cast<double>(m);
    const float mean_f = static_cast<float>(mean);
    const float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    for (int64_t b = 0; b < n; ++b) {
      const float* in = x + (b * c + ch) * spatial;
      float* out = y + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) out[s] = (in[s] - mean_f) * invstd;
    }
    save_mean[ch] = mean_f;
    save_invstd[ch] = invstd;
    running_mean[ch] = static_cast<float>(momentum * running_mean[ch] + (1.0 - momentum) * mean);
    running_var[ch] =
        static_cast<float>(momentum * running_var[ch] + (1.0 - momentum) * var * unbias);
  }
}

// y = (x - running_mean) / sqrt(running_var + eps), `=`. y may alias x.
void CpuBackend::batchnorm_forward_inference(int64_t n, int64_t c, int64_t spatial, float eps,
                                             const float* x, const float* running_mean,
                                             const float* running_var, float* y) {
#pragma omp parallel for collapse(2) if (n * c * spatial > kParallelMin)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float mean = running_mean[ch];
      const float invstd = static_cast<float>(1.0 / std::sqrt(double(running_var[ch]) + eps));
      const float* in = x + (b * c + ch) * spatial;
      float* out = y + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) out[s] = (in[s] - mean) * invstd;
    }
}

// Gradient of the training-mode forward (batch statistics depend on x), `=`:
//   xhat = (x - mean) * invstd
//   dx = invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), means over the channel's m values.
// dx may alias dy (each dx reads only its own dy once the channel's sums are known).
void CpuBackend::batchnorm_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                    const float* dy, const float* save_mean,
                                    const float* save_invstd, float* dx) {
  const int64_t m = n * spatial;
  DIGITS_CHECK(m > 0, "batchnorm over an empty batch (n={}, spatial={})", n, spatial);
#pragma omp parallel for if (n * c * spatial > kParallelMin)
  for (int64_t ch = 0; ch < c; ++ch) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t b = 0; b < n; ++b) {
      const float* xs = x + (b * c + ch) * spatial;
      const float* dys = dy + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) {
        sum_dy += dys[s];
        sum_dy_xhat += static_cast<double>(dys[s]) * ((xs[s] - mean) * invstd);
      }
    }
    const float mean_dy = static_cast<float>(sum_dy / static_cast<double>(m));
    const float mean_dy_xhat = static_cast<float>(sum_dy_xhat / static_cast<double>(m));
    for (int64_t b = 0; b < n; ++b) {
      const float* xs = x + (b * c + ch) * spatial;
      const float* dys = dy + (b * c + ch) * spatial;
      float* dxs = dx + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) {
        const float xhat = (xs[s] - mean) * invstd;
        dxs[s] = invstd * (dys[s] - mean_dy - xhat * mean_dy_xhat);
      }
    }
  }
}

// y = x * gamma[ch] + beta[ch] (beta nullable: no shift), `=`. y may alias x.
void CpuBackend::channel_scale_forward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                       const float* gamma, const float* beta, float* y) {
#pragma omp parallel for collapse(2) if (n * c * spatial > kParallelMin)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float g = gamma[ch], shift = beta ? beta[ch] : 0.0f;
      const float* in = x + (b * c + ch) * spatial;
      float* out = y + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) out[s] = in[s] * g + shift;
    }
}

// dx = dy * gamma[ch] (`=`); dgamma[ch] += sum dy * x; dbeta[ch] += sum dy (both nullable).
// The parameter sums are taken before dx is written, so dx may alias dy.
void CpuBackend::channel_scale_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                        const float* gamma, const float* dy, float* dx,
                                        float* dgamma, float* dbeta) {
#pragma omp parallel for if (n * c * spatial > kParallelMin)
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum_dy_x = 0, sum_dy = 0;
    for (int64_t b = 0; b < n; ++b) {
      const float* xs = x + (b * c + ch) * spatial;
      const float* dys = dy + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) {
        sum_dy_x += static_cast<double>(dys[s]) * xs[s];
        sum_dy += dys[s];
      }
    }
    if (dgamma) dgamma[ch] += static_cast<float>(sum_dy_x);
    if (dbeta) dbeta[ch] += static_cast<float>(sum_dy);
    const float g = gamma[ch];
    for (int64_t b = 0; b < n; ++b) {
      const float* dys = dy + (b * c + ch) * spatial;
      float* dxs = dx + (b * c + ch) * spatial;
      for (int64_t s = 0; s < spatial; ++s) dxs[s] = dys[s] * g;
    }
  }
}

}  // namespace digits
