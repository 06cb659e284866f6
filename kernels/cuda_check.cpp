// The messages behind kernels/cuda_check.h.
#include "kernels/cuda_check.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "core/error.h"

namespace digits {

// DIGITS_CUDA_LIBRARY_CHECK tests every library's status against 0.
static_assert(static_cast<int>(cudaSuccess) == 0);
static_assert(static_cast<int>(CUBLAS_STATUS_SUCCESS) == 0);
static_assert(static_cast<int>(CUDNN_STATUS_SUCCESS) == 0);

namespace {

// The device the failing call ran on; -1 when even that cannot be asked.
int current_device() {
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess) device = -1;
  return device;
}

const char* library_name(CudaLibrary library) {
  switch (library) {
    case CudaLibrary::runtime: return "CUDA";
    case CudaLibrary::cublas: return "cuBLAS";
    case CudaLibrary::cudnn: return "cuDNN";
  }
  return "CUDA";
}

// The library's own text for a status, with the status's name.
std::string status_text(CudaLibrary library, int status) {
  switch (library) {
    case CudaLibrary::runtime: {
      const auto error = static_cast<cudaError_t>(status);
      return fmt::format("{} ({})", cudaGetErrorString(error), cudaGetErrorName(error));
    }
    case CudaLibrary::cublas: {
      const auto error = static_cast<cublasStatus_t>(status);
      return fmt::format("{} ({})", cublasGetStatusString(error), cublasGetStatusName(error));
    }
    case CudaLibrary::cudnn: {
      std::string text = cudnnGetErrorString(static_cast<cudnnStatus_t>(status));
      // cuDNN 9 keeps a longer explanation of its last failure (which argument, which limit).
      char detail[512] = {};
      cudnnGetLastErrorString(detail, sizeof detail);
      if (detail[0] != '\0') text += fmt::format(" [{}]", detail);
      return text;
    }
  }
  return fmt::format("status {}", status);
}

}  // namespace

void cuda_check_failed(CudaLibrary library, int status, const char* statement, const char* file,
                       int line) {
  // A failed runtime call may also have set the runtime's "last error"; take it off so the next
  // launch check reports its own failure, not this one.
  if (library == CudaLibrary::runtime) cudaGetLastError();
  fail_runtime("{}:{}: {} error on cuda:{}: {}: {}", file, line, library_name(library),
               current_device(), status_text(library, status), statement);
}

void cuda_check_launch(const char* kernel, const char* file, int line) {
  // cudaGetLastError also clears a non-sticky launch error, so the next check starts clean.
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    fail_runtime("{}:{}: CUDA error on cuda:{}: {}: launch of kernel {}", file, line,
                 current_device(), status_text(CudaLibrary::runtime, status), kernel);
}

void cuda_require_failed(const char* launcher, const char* condition, const char* file,
                         int line) {
  fail_runtime("{}:{}: {}: check failed: {}", file, line, launcher, condition);
}

void cuda_check_alloc(cudaError_t status, const char* what, size_t bytes, const char* file,
                      int line) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // an allocation failure is not sticky: clear it for the next check
  const int device = current_device();
  if (status == cudaErrorMemoryAllocation) {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) free_bytes = total_bytes = 0;
    fail_runtime("out of GPU memory on cuda:{}: {} needs {} bytes ({:.1f} MiB); {:.1f} MiB of "
                 "{:.1f} MiB free",
                 device, what, bytes, bytes / 1048576.0, free_bytes / 1048576.0,
                 total_bytes / 1048576.0);
  }
  fail_runtime("{}:{}: CUDA error on cuda:{} allocating {} bytes for {}: {}", file, line, device,
               bytes, what, status_text(CudaLibrary::runtime, status));
}

}  // namespace digits
