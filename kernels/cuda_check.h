// One family of check macros for CUDA runtime, cuBLAS and cuDNN calls. A failed call throws
// digits::Error (ExitCode::runtime) carrying the statement, file:line, the current device and
// the library's own error string; only tools turn it into an exit status.
//
//   CUDA_CHECK(cudaMemcpyAsync(...));
//   CUBLAS_CHECK(cublasSgemm(...));
//   CUDNN_CHECK(cudnnConvolutionForward(...));
//
// Out of device memory is reported by cuda_check_alloc() with the bytes asked for, so the net
// can add the layer's name (nn/net.cpp catches and prefixes it).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>

#include "core/error.h"

namespace digits {

// The text of a cuBLAS status (cuBLAS has cublasGetStatusString since 11.4; keep the name too).
inline const char* cublas_error_string(cublasStatus_t status) {
  return cublasGetStatusString(status);
}

[[noreturn]] void cuda_fail(const char* library, const char* statement, const char* file,
                            int line, const char* message);

// cudaMalloc-like allocation failure: names what was being allocated and its size.
void cuda_check_alloc(cudaError_t status, const char* what, size_t bytes, const char* file,
                      int line);

}  // namespace digits

#define CUDA_CHECK(statement)                                                               \
  do {                                                                                      \
    const cudaError_t digits_status_ = (statement);                                         \
    if (digits_status_ != cudaSuccess)                                                      \
      ::digits::cuda_fail("CUDA", #statement, __FILE__, __LINE__,                           \
                          cudaGetErrorString(digits_status_));                              \
  } while (0)

#define CUBLAS_CHECK(statement)                                                             \
  do {                                                                                      \
    const cublasStatus_t digits_status_ = (statement);                                      \
    if (digits_status_ != CUBLAS_STATUS_SUCCESS)                                            \
      ::digits::cuda_fail("cuBLAS", #statement, __FILE__, __LINE__,                         \
                          ::digits::cublas_error_string(digits_status_));                   \
  } while (0)

#define CUDNN_CHECK(statement)                                                              \
  do {                                                                                      \
    const cudnnStatus_t digits_status_ = (statement);                                       \
    if (digits_status_ != CUDNN_STATUS_SUCCESS)                                             \
      ::digits::cuda_fail("cuDNN", #statement, __FILE__, __LINE__,                          \
                          cudnnGetErrorString(digits_status_));                             \
  } while (0)

// A kernel launch: checks the launch configuration (the kernel's own faults surface at the next
// synchronizing call, also checked).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
