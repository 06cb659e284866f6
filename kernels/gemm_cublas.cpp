// GEMM through cuBLAS (inner product layers, and any GEMM a layer asks for).
//
// Our gemm is row-major; cuBLAS is column-major. A row-major (m, n) matrix is the column-major
// (n, m) matrix of its transpose, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T:
// cuBLAS gets B first, then A, with m and n swapped and each leading dimension being the row
// length of the row-major array as stored.
#include <climits>

#include "kernels/cuda_backend.h"
#include "core/error.h"
#include "kernels/cuda_check.h"

namespace digits {

void CudaBackend::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float* a, const float* b, float beta, float* c) {
  DIGITS_CHECK(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m={} n={} k={}", m, n, k);
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta * C; cuBLAS would reject the zero leading dimension
    if (beta == 0.0f)
      set(m * n, 0.0f, c);
    else
      scale(m * n, beta, c);
    return;
  }
  // The 64-bit cuBLAS API takes any size; the stored row lengths are the leading dimensions.
  const int64_t lda = trans_a ? m : k;  // A stored (m, k), or (k, m) when transposed
  const int64_t ldb = trans_b ? k : n;  // B stored (k, n), or (n, k) when transposed
  CUBLAS_CHECK(cublasSgemm_64(cublas_, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                              trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a,
                              lda, &beta, c, n));
}

}  // namespace digits
