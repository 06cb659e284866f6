// BLAS-like basics of the CPU backend.
#include <cblas.h>
#include <omp.h>

#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

CpuBackend::CpuBackend() {
  // Our parallel regions are OpenMP; OpenBLAS runs single-threaded inside them, and with all
  // threads when called from serial code. Two pools competing for 2 cores halve throughput.
  openblas_set_num_threads(omp_get_max_threads());
}

std::string CpuBackend::name() const {
  return fmt::format("cpu (OpenBLAS, {} threads)", omp_get_max_threads());
}

float* CpuBackend::workspace(size_t floats) {
  if (workspace_.size() < floats) workspace_.resize(floats);
  return workspace_.data();
}

void CpuBackend::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, const float* b, float beta, float* c) {
  int64_t lda = trans_a ? m : k;
  int64_t ldb = trans_b ? k : n;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(n));
}

void CpuBackend::set(int64_t n, float value, float* y) {
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

void CpuBackend::copy(int64_t n, const float* x, float* y) {
  if (x != y) std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}

void CpuBackend::axpy(int64_t n, float alpha, const float* x, float* y) {
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void CpuBackend::scale(int64_t n, float alpha, float* y) {
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] *= alpha;
}

double CpuBackend::sum_squares(int64_t n, const float* x) {
  double total = 0;
#pragma omp parallel for reduction(+ : total) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  return total;
}

void CpuBackend::copy_2d(int64_t rows, int64_t cols, const float* src, int64_t src_stride,
                         float* dst, int64_t dst_stride) {
#pragma omp parallel for if (rows * cols > 65536)
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + r * dst_stride, src + r * src_stride, static_cast<size_t>(cols) * 4);
}

void CpuBackend::add_bias(int64_t outer, int64_t channels, int64_t inner, const float* bias,
                          float* y) {
#pragma omp parallel for collapse(2) if (outer * channels * inner > 65536)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      float* row = y + (o * channels + c) * inner;
      float b = bias[c];
      for (int64_t i = 0; i < inner; ++i) row[i] += b;
    }
}

void CpuBackend::bias_backward(int64_t outer, int64_t channels, int64_t inner, const float* dy,
                               float* dbias) {
#pragma omp parallel for if (outer * channels * inner > 65536)
  for (int64_t c = 0; c < channels; ++c) {
    double total = 0;
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = dy + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) total += row[i];
    }
    dbias[c] += static_cast<float>(total);
  }
}

}  // namespace digits
