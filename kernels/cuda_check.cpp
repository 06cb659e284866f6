// Definitions behind kernels/cuda_check.h.
#include "kernels/cuda_check.h"

namespace digits {

void cuda_fail(const char* library, const char* statement, const char* file, int line,
               const char* message) {
  int device = -1;
  cudaGetDevice(&device);  // best effort: the message is what matters
  fail_runtime("{}:{}: {} error on cuda:{}: {}: {}", file, line, library, device, message,
               statement);
}

void cuda_check_alloc(cudaError_t status, const char* what, size_t bytes, const char* file,
                      int line) {
  if (status == cudaSuccess) return;
  int device = -1;
  cudaGetDevice(&device);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // an allocation failure is not sticky: clear it for the next check
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    fail_runtime("out of GPU memory on cuda:{}: {} needs {} bytes ({:.1f} MiB); {:.1f} MiB of "
                 "{:.1f} MiB free",
                 device, what, bytes, bytes / 1048576.0, free_bytes / 1048576.0,
                 total_bytes / 1048576.0);
  }
  fail_runtime("{}:{}: CUDA error on cuda:{} allocating {} bytes for {}: {}", file, line, device,
               bytes, what, cudaGetErrorString(status));
}

}  // namespace digits
