// Error checks for digits' own kernel launchers (kernels/*_kernels.cu). Plain C++: the
// definitions live in kernel_check.cpp so the .cu files need neither fmt nor core/error.h.
// Every failure throws digits::Error (runtime) with file:line and CUDA's own error string;
// only tools turn errors into exit statuses.
#pragma once

#include <cuda_runtime_api.h>

namespace digits {

// After a <<<...>>> launch: throws when the launch failed (bad configuration, no device, a
// sticky error from an earlier kernel): "FILE:LINE: CUDA kernel KERNEL: <error string>".
void check_kernel_launch(const char* kernel, const char* file, int line);
// Throws unless status is cudaSuccess: "FILE:LINE: CALL: <error string>".
void check_cuda_status(cudaError_t status, const char* call, const char* file, int line);
// A caller broke a launcher's contract: "FILE:LINE: LAUNCHER: check failed: CONDITION".
[[noreturn]] void fail_kernel_argument(const char* launcher, const char* condition,
                                       const char* file, int line);

}  // namespace digits

#define DIGITS_CHECK_LAUNCH(kernel) ::digits::check_kernel_launch(kernel, __FILE__, __LINE__)
#define DIGITS_CHECK_CUDA_CALL(call) \
  ::digits::check_cuda_status((call), #call, __FILE__, __LINE__)
#define DIGITS_KERNEL_REQUIRE(condition, launcher)                                \
  do {                                                                            \
    if (!(condition))                                                             \
      ::digits::fail_kernel_argument(launcher, #condition, __FILE__, __LINE__);   \
  } while (0)
