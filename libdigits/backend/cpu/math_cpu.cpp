// BLAS-like basics of the CPU backend.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

CpuBackend::CpuBackend() {
  // One thread pool: OpenMP. OpenBLAS always runs single-threaded, and gemm() below splits
  // large products across the OpenMP threads itself. Two pools (OpenBLAS's pthreads next to
  // OpenMP workers spinning between regions) fight over the cores and halve throughput.
  openblas_set_num_threads(1);
}

std::string CpuBackend::name() const {
  return fmt::format("cpu (OpenBLAS, {} threads)", omp_get_max_threads());
}

float* CpuBackend::workspace(size_t floats) {
  if (workspace_.size() < floats) workspace_.resize(floats);
  return workspace_.data();
}

// One single-threaded OpenBLAS call on the block rows [m0, m0+mc) x columns [n0, n0+nc) of C.
static void gemm_block(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float* a, const float* b, float beta, float* c, int64_t m0,
                       int64_t mc, int64_t n0, int64_t nc) {
  const int64_t lda = trans_a ? m : k;
  const int64_t ldb = trans_b ? k : n;
  const float* a_block = trans_a ? a + m0 : a + m0 * lda;  // rows of op(A)
  const float* b_block = trans_b ? b + n0 * ldb : b + n0;  // columns of op(B)
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(mc),
              static_cast<blasint>(nc), static_cast<blasint>(k), alpha, a_block,
              static_cast<blasint>(lda), b_block, static_cast<blasint>(ldb), beta,
              c + m0 * n + n0, static_cast<blasint>(n));
}

void CpuBackend::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, const float* b, float beta, float* c) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  // Small products, or calls from inside a parallel region: one call.
  if (threads == 1 || m * n * k < (int64_t(1) << 18)) {
    gemm_block(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, 0, m, 0, n);
    return;
  }
  // Split C along its larger dimension into one block per thread (multiples of 16 so the
  // kernels' panels stay whole).
  const bool split_rows = m >= n;
  const int64_t extent = split_rows ? m : n;
  const int64_t chunk = ((extent + threads - 1) / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const int64_t begin = t * chunk;
    const int64_t size = std::min(chunk, extent - begin);
    if (size <= 0) continue;
    if (split_rows)
      gemm_block(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, begin, size, 0, n);
    else
      gemm_block(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, 0, m, begin, size);
  }
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
