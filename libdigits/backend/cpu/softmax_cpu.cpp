// Softmax, softmax cross-entropy loss and top-k accuracy, CPU reference.
// x is viewed as (outer, channels, inner); the softmax runs over channels, independently at each
// of the outer * inner positions. Element (o, c, i) lives at (o * channels + c) * inner + i.
#include <cfloat>
#include <cmath>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

namespace {

constexpr int64_t kParallelMin = 32768;

// Labels are class indices stored as floats. Checked once, serially, before the parallel loops
// (an exception must not leave an OpenMP region). Layers check first with a better message;
// this guards direct callers.
void check_labels(const char* op, int64_t positions, int64_t channels, const float* label,
                  bool has_ignore, int ignore_label) {
  for (int64_t p = 0; p < positions; ++p) {
    const float value = label[p];
    if (has_ignore && value == static_cast<float>(ignore_label)) continue;
    // Range first: casting an out-of-range float to int is undefined. NaN fails here too.
    if (!(value >= 0.0f && value < static_cast<float>(channels)) || value != std::floor(value))
      fail_data("cpu backend: {}: label {} at position {} is not a class index in [0, {})", op,
                value, p, channels);
  }
}

}  // namespace

// y = exp(x - max) / sum exp(x - max) over channels, `=`. Subtracting the max keeps exp() from
// overflowing; the sum is accumulated in double.
void CpuBackend::softmax_forward(int64_t outer, int64_t channels, int64_t inner, const float* x,
                                 float* y) {
  if (channels <= 0) return;  // nothing to normalize (and no xs[0] to start the max from)
#pragma omp parallel for if (outer * channels * inner > kParallelMin)
  for (int64_t p = 0; p < outer * inner; ++p) {
    const int64_t o = p / inner, i = p % inner;
    const float* xs = x + o * channels * inner + i;
    float* ys = y + o * channels * inner + i;
    float max_value = xs[0];
    for (int64_t c = 1; c < channels; ++c) max_value = std::fmax(max_value, xs[c * inner]);
    double sum = 0;
    for (int64_t c = 0; c < channels; ++c) {
      float e = std::exp(xs[c * inner] - max_value);
      ys[c * inner] = e;
      sum += e;
    }
    const float inv_sum = static_cast<float>(1.0 / sum);
    for (int64_t c = 0; c < channels; ++c) ys[c * inner] *= inv_sum;
  }
}

// dx = y * (dy - sum_c dy * y), `=`. dx may alias dy.
void CpuBackend::softmax_backward(int64_t outer, int64_t channels, int64_t inner, const float* y,
                                  const float* dy, float* dx) {
#pragma omp parallel for if (outer * channels * inner > kParallelMin)
  for (int64_t p = 0; p < outer * inner; ++p) {
    const int64_t base = (p / inner) * channels * inner + p % inner;
    double dot = 0;
    for (int64_t c = 0; c < channels; ++c)
      dot += static_cast<double>(dy[base + c * inner]) * y[base + c * inner];
    const float dot_f = static_cast<float>(dot);
    for (int64_t c = 0; c < channels; ++c)
      dx[base + c * inner] = y[base + c * inner] * (dy[base + c * inner] - dot_f);
  }
}

// Returns sum over non-ignored positions of -log(max(prob[label], FLT_MIN)); *valid = their
// number. The clamp keeps a zero probability from giving an infinite loss.
double CpuBackend::softmax_loss_forward(int64_t outer, int64_t channels, int64_t inner,
                                        const float* prob, const float* label, bool has_ignore,
                                        int ignore_label, int64_t* valid) {
  check_labels("softmax_loss_forward", outer * inner, channels, label, has_ignore, ignore_label);
  double loss = 0;
  int64_t count = 0;
#pragma omp parallel for reduction(+ : loss, count) if (outer * inner > kParallelMin)
  for (int64_t p = 0; p < outer * inner; ++p) {
    const int value = static_cast<int>(label[p]);
    if (has_ignore && value == ignore_label) continue;
    const int64_t o = p / inner, i = p % inner;
    const float q = prob[(o * channels + value) * inner + i];
    loss -= std::log(static_cast<double>(std::fmax(q, FLT_MIN)));
    ++count;
  }
  *valid = count;
  return loss;
}

// dx = scale * (prob - onehot(label)) at valid positions, 0 at ignored ones; `=`.
void CpuBackend::softmax_loss_backward(int64_t outer, int64_t channels, int64_t inner,
                                       const float* prob, const float* label, bool has_ignore,
                                       int ignore_label, float scale, float* dx) {
  check_labels("softmax_loss_backward", outer * inner, channels, label, has_ignore, ignore_label);
#pragma omp parallel for if (outer * channels * inner > kParallelMin)
  for (int64_t p = 0; p < outer * inner; ++p) {
    const int value = static_cast<int>(label[p]);
    const int64_t base = (p / inner) * channels * inner + p % inner;
    if (has_ignore && value == ignore_label) {
      for (int64_t c = 0; c < channels; ++c) dx[base + c * inner] = 0.0f;
      continue;
    }
    for (int64_t c = 0; c < channels; ++c) {
      const float target = c == value ? 1.0f : 0.0f;
      dx[base + c * inner] = scale * (prob[base + c * inner] - target);
    }
  }
}

// A position is correct when fewer than top_k classes score >= the true class's score, the
// true class included. Ties therefore count against (Caffe's rule): with top_k = 1, a score
// shared by the true class and another class is a miss.
void CpuBackend::accuracy(int64_t outer, int64_t channels, int64_t inner, const float* x,
                          const float* label, int top_k, bool has_ignore, int ignore_label,
                          int64_t* correct, int64_t* valid) {
  check_labels("accuracy", outer * inner, channels, label, has_ignore, ignore_label);
  int64_t hits = 0, count = 0;
#pragma omp parallel for reduction(+ : hits, count) if (outer * channels * inner > kParallelMin)
  for (int64_t p = 0; p < outer * inner; ++p) {
    const int value = static_cast<int>(label[p]);
    if (has_ignore && value == ignore_label) continue;
    const int64_t base = (p / inner) * channels * inner + p % inner;
    const float true_score = x[base + value * inner];
    int64_t at_least_as_good = 0;
    for (int64_t c = 0; c < channels; ++c) at_least_as_good += x[base + c * inner] >= true_score;
    // at_least_as_good includes the true class itself.
    if (at_least_as_good - 1 < top_k) ++hits;
    ++count;
  }
  *correct = hits;
  *valid = count;
}

}  // namespace digits
