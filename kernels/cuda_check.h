// The one family of checks for kernels/: every CUDA runtime, cuBLAS and cuDNN call, every kernel
// launch and every launcher's argument contract. A failed check throws digits::Error
// (ExitCode::runtime) carrying file:line, the library, the device, the library's own error
// string and the statement; only tools turn it into an exit status.
//
//   CUDA_CHECK(cudaMemcpyAsync(...));
//   CUBLAS_CHECK(cublasSgemm_64(...));
//   CUDNN_CHECK(cudnnConvolutionForward(...));
//   my_kernel<<<blocks, threads, 0, stream>>>(...);
//   CUDA_CHECK_LAUNCH("my_kernel");
//   CUDA_REQUIRE(n >= 0, "cuda_set");   // a caller broke the launcher's contract
//   cuda_check_alloc(cudaMalloc(&p, bytes), "convolution workspace", bytes, __FILE__, __LINE__);
//
// One generator (DIGITS_CUDA_LIBRARY_CHECK) makes the three call checks: the three libraries all
// report success as 0 (cuda_check.cpp asserts it), so the header needs neither cuBLAS's nor
// cuDNN's headers nor fmt, and .cu files include it as cheaply as .cpp files. The messages are
// made out of line, in cuda_check.cpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace digits {

enum class CudaLibrary { runtime, cublas, cudnn };

// Throws: "FILE:LINE: <library> error on cuda:<device>: <error string> (<name>): <statement>"
// (cuDNN adds its own last error message when it has one).
[[noreturn]] void cuda_check_failed(CudaLibrary library, int status, const char* statement,
                                    const char* file, int line);

// After a <<<...>>> launch: throws when the launch failed (bad configuration, no device, or a
// sticky error of an earlier kernel), naming the kernel. A kernel's own faults surface at the
// next synchronizing call, which is checked too.
void cuda_check_launch(const char* kernel, const char* file, int line);

// A caller broke a launcher's contract: "FILE:LINE: LAUNCHER: check failed: CONDITION".
[[noreturn]] void cuda_require_failed(const char* launcher, const char* condition,
                                      const char* file, int line);

// An allocation (cudaMalloc, cudaMallocHost): out of memory is reported with what was being
// allocated and the bytes asked for ("out of GPU memory on cuda:0: convolution workspace needs
// N bytes ..."), and the net puts the layer's name in front (nn/net.cpp in_layer). Any other
// failure is a plain CUDA error naming the same.
void cuda_check_alloc(cudaError_t status, const char* what, size_t bytes, const char* file,
                      int line);

}  // namespace digits

#define DIGITS_CUDA_LIBRARY_CHECK(library, statement)                                        \
  do {                                                                                       \
    const auto digits_status_ = (statement);                                                 \
    if (static_cast<int>(digits_status_) != 0)                                               \
      ::digits::cuda_check_failed(library, static_cast<int>(digits_status_), #statement,     \
                                  __FILE__, __LINE__);                                       \
  } while (0)

#define CUDA_CHECK(statement) DIGITS_CUDA_LIBRARY_CHECK(::digits::CudaLibrary::runtime, statement)
#define CUBLAS_CHECK(statement) DIGITS_CUDA_LIBRARY_CHECK(::digits::CudaLibrary::cublas, statement)
#define CUDNN_CHECK(statement) DIGITS_CUDA_LIBRARY_CHECK(::digits::CudaLibrary::cudnn, statement)

#define CUDA_CHECK_LAUNCH(kernel) ::digits::cuda_check_launch(kernel, __FILE__, __LINE__)

#define CUDA_REQUIRE(condition, launcher)                                             \
  do {                                                                                \
    if (!(condition))                                                                 \
      ::digits::cuda_require_failed(launcher, #condition, __FILE__, __LINE__);        \
  } while (0)
