// Elementwise combination of several equally shaped inputs (Caffe's Eltwise), CPU reference.
// xs and coeffs are host arrays (one entry per input); the xs[i] point to backend memory.
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

namespace {
constexpr int64_t kParallelMin = 32768;
}  // namespace

// sum:  y = sum_i coeffs[i] * xs[i]   (coeffs nullable: all 1)
// prod: y = prod_i xs[i]
// max:  y = max_i xs[i]; argmax (required) = index of the first input holding the maximum.
// `=`. y may alias any input (each element is read before it is written).
void CpuBackend::eltwise_forward(EltwiseOp op, int64_t n, int num_inputs, const float* const* xs,
                                 const float* coeffs, float* y, float* argmax) {
  DIGITS_CHECK(num_inputs >= 1, "eltwise_forward needs at least one input, got {}", num_inputs);
  switch (op) {
    case EltwiseOp::sum:
#pragma omp parallel for if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) {
        float total = 0.0f;
        for (int k = 0; k < num_inputs; ++k) total += (coeffs ? coeffs[k] : 1.0f) * xs[k][j];
        y[j] = total;
      }
      return;
    case EltwiseOp::prod:
#pragma omp parallel for if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) {
        float product = xs[0][j];
        for (int k = 1; k < num_inputs; ++k) product *= xs[k][j];
        y[j] = product;
      }
      return;
    case EltwiseOp::max:
      DIGITS_CHECK(argmax != nullptr, "eltwise_forward max needs an argmax buffer");
#pragma omp parallel for if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) {
        float best = xs[0][j];
        int winner = 0;
        for (int k = 1; k < num_inputs; ++k)
          if (xs[k][j] > best) {
            best = xs[k][j];
            winner = k;
          }
        y[j] = best;
        argmax[j] = static_cast<float>(winner);
      }
      return;
  }
  fail_runtime("cpu backend: eltwise_forward: unknown operation {}", static_cast<int>(op));
}

// Gradient for input `input_index` (x = that input), `=`:
// sum:  dx = coeff * dy
// prod: dx = dy * y / x   (undefined where x = 0; the Eltwise layer instead multiplies dy by
//                          the other inputs through eltwise_forward, which is exact)
// max:  dx = dy where argmax == input_index, else 0
void CpuBackend::eltwise_backward(EltwiseOp op, int64_t n, int input_index, const float* x,
                                  const float* y, const float* dy, float coeff,
                                  const float* argmax, float* dx) {
  switch (op) {
    case EltwiseOp::sum:
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) dx[j] = coeff * dy[j];
      return;
    case EltwiseOp::prod:
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * y[j] / x[j];
      return;
    case EltwiseOp::max: {
      DIGITS_CHECK(argmax != nullptr, "eltwise_backward max needs the forward's argmax");
      const float index = static_cast<float>(input_index);
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) dx[j] = argmax[j] == index ? dy[j] : 0.0f;
      return;
    }
  }
  fail_runtime("cpu backend: eltwise_backward: unknown operation {}", static_cast<int>(op));
}

}  // namespace digits
