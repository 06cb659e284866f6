// kernels/cuda_check.h, the one family of checks of the CUDA backend: a failed CUDA, cuBLAS or
// cuDNN call, a broken launcher contract and a failed allocation each throw a runtime Error with
// file:line, the library, the library's own error string and the statement. Needs no GPU (the
// statuses are given, not provoked), so it runs in every CUDA build. A build without the CUDA
// backend checks instead that it says so.
#ifdef DIGITS_HAVE_CUDA

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <doctest/doctest.h>

#include <string>

#include "core/error.h"
#include "kernels/cuda_check.h"

using namespace digits;

namespace {

// Stand-ins for failing library calls: they return the status they are given.
cudaError_t failing_cuda_call(cudaError_t status) { return status; }
cublasStatus_t failing_cublas_call(cublasStatus_t status) { return status; }
cudnnStatus_t failing_cudnn_call(cudnnStatus_t status) { return status; }

// The message of the runtime Error `f` throws ("" and a failed CHECK when it throws none).
template <typename F>
std::string runtime_error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::runtime);
    return e.what();
  }
  FAIL_CHECK("no error thrown");
  return "";
}

bool has(const std::string& text, const std::string& part) {
  INFO("message: " << text << "\nexpected to contain: " << part);
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("CUDA_CHECK, CUBLAS_CHECK, CUDNN_CHECK: success passes, failure names everything") {
  CUDA_CHECK(failing_cuda_call(cudaSuccess));
  CUBLAS_CHECK(failing_cublas_call(CUBLAS_STATUS_SUCCESS));
  CUDNN_CHECK(failing_cudnn_call(CUDNN_STATUS_SUCCESS));

  const std::string cuda =
      runtime_error_of([] { CUDA_CHECK(failing_cuda_call(cudaErrorInvalidValue)); });
  CHECK(has(cuda, "test_kernels_check.cpp:"));
  CHECK(has(cuda, "CUDA error on cuda:"));
  CHECK(has(cuda, cudaGetErrorString(cudaErrorInvalidValue)));
  CHECK(has(cuda, "(cudaErrorInvalidValue)"));
  CHECK(has(cuda, "failing_cuda_call(cudaErrorInvalidValue)"));

  const std::string cublas =
      runtime_error_of([] { CUBLAS_CHECK(failing_cublas_call(CUBLAS_STATUS_INVALID_VALUE)); });
  CHECK(has(cublas, "cuBLAS error on cuda:"));
  CHECK(has(cublas, cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE)));
  CHECK(has(cublas, "(CUBLAS_STATUS_INVALID_VALUE)"));
  CHECK(has(cublas, "failing_cublas_call(CUBLAS_STATUS_INVALID_VALUE)"));

  const std::string cudnn =
      runtime_error_of([] { CUDNN_CHECK(failing_cudnn_call(CUDNN_STATUS_NOT_SUPPORTED)); });
  CHECK(has(cudnn, "cuDNN error on cuda:"));
  CHECK(has(cudnn, cudnnGetErrorString(CUDNN_STATUS_NOT_SUPPORTED)));
  CHECK(has(cudnn, "failing_cudnn_call(CUDNN_STATUS_NOT_SUPPORTED)"));
}

TEST_CASE("CUDA_REQUIRE names the launcher and the broken condition") {
  const int64_t n = -1;
  CUDA_REQUIRE(n < 0, "cuda_test_launcher");
  const std::string message =
      runtime_error_of([&] { CUDA_REQUIRE(n >= 0, "cuda_test_launcher"); });
  CHECK(has(message, "test_kernels_check.cpp:"));
  CHECK(has(message, "cuda_test_launcher: check failed: n >= 0"));
}

TEST_CASE("cuda_check_alloc: out of memory names what and the bytes; other errors the status") {
  cuda_check_alloc(cudaSuccess, "nothing", 0, __FILE__, __LINE__);
  const std::string oom = runtime_error_of([] {
    cuda_check_alloc(cudaErrorMemoryAllocation, "convolution workspace", 123456789, __FILE__,
                     __LINE__);
  });
  CHECK(has(oom, "out of GPU memory on cuda:"));
  CHECK(has(oom, "convolution workspace needs 123456789 bytes"));
  const std::string other = runtime_error_of([] {
    cuda_check_alloc(cudaErrorInvalidValue, "scratch", 64, __FILE__, __LINE__);
  });
  CHECK(has(other, "allocating 64 bytes for scratch"));
  CHECK(has(other, "(cudaErrorInvalidValue)"));
}

#else  // !DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <string>

#include "backend/backend.h"

TEST_CASE("a build without the CUDA backend has no GPU and says why") {
  std::string why;
  CHECK_FALSE(digits::cuda_available(&why));
  CHECK(why.find("no CUDA backend") != std::string::npos);
}

#endif  // DIGITS_HAVE_CUDA
