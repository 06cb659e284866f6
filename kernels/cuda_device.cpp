// Device discovery for the CUDA backend.
#include <cuda_runtime.h>

#include "core/error.h"
#include "kernels/cuda_backend.h"

namespace digits {

bool cuda_probe(std::string* why) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = fmt::format("CUDA runtime: {}", cudaGetErrorString(status));
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)";
    return false;
  }
  return true;
}

Backend& cuda_backend(int index) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || index >= count)
    fail(ExitCode::missing, "device gpu:{}: only {} CUDA device(s) visible", index, count);
  fail(ExitCode::missing, "device gpu:{}: the CUDA backend's operations are not built yet (issue 5)",
       index);
}

}  // namespace digits
