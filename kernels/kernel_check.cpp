#include "kernels/kernel_check.h"

#include <cuda_runtime_api.h>

#include "core/error.h"

namespace digits {

void check_kernel_launch(const char* kernel, const char* file, int line) {
  // cudaGetLastError also clears a non-sticky launch error, so the next check starts clean.
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    fail_runtime("{}:{}: CUDA kernel {}: {} ({})", file, line, kernel, cudaGetErrorString(status),
                 cudaGetErrorName(status));
}

void check_cuda_status(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    fail_runtime("{}:{}: {}: {} ({})", file, line, call, cudaGetErrorString(status),
                 cudaGetErrorName(status));
}

void fail_kernel_argument(const char* launcher, const char* condition, const char* file,
                          int line) {
  fail_runtime("{}:{}: {}: check failed: {}", file, line, launcher, condition);
}

}  // namespace digits
