// Device discovery for the CUDA backend, and the one backend per device.
#include <cuda_runtime.h>

#include <cstdlib>
#include <map>
#include <mutex>

#include "core/error.h"
#include "kernels/cuda_backend.h"

namespace digits {

namespace {

// What CUDA_VISIBLE_DEVICES says, for messages: indices are counted after its remapping.
std::string visible_devices_note() {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (!visible) return "";
  return fmt::format(" (CUDA_VISIBLE_DEVICES=\"{}\")", visible);
}

}  // namespace

bool cuda_probe(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    // No driver (cudaErrorInsufficientDriver), no device (cudaErrorNoDevice), ...: not an error
    // for a probe. Clear it so later checks start clean.
    cudaGetLastError();
    if (why) *why = fmt::format("CUDA runtime: {}{}", cudaGetErrorString(status),
                                visible_devices_note());
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device is visible" + visible_devices_note();
    return false;
  }
  return true;
}

Backend& cuda_backend(int index) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess)
    fail(ExitCode::missing, "device gpu:{}: CUDA runtime: {}{}", index, cudaGetErrorString(status),
         visible_devices_note());
  if (index < 0 || index >= count)
    fail(ExitCode::missing, "device gpu:{}: only {} CUDA device(s) visible{}; valid: gpu:0..gpu:{}",
         index, count, visible_devices_note(), count - 1);
  // One backend per device for the whole process. Never destroyed: at exit the CUDA runtime may
  // already be torn down, and destroying cuDNN/cuBLAS handles after that can crash.
  static std::mutex mutex;
  static std::map<int, CudaBackend*> backends;
  std::lock_guard<std::mutex> lock(mutex);
  CudaBackend*& backend = backends[index];
  if (!backend) backend = new CudaBackend(index);
  if (cudaSetDevice(index) != cudaSuccess)
    fail_runtime("device gpu:{}: cudaSetDevice failed", index);
  return *backend;
}

}  // namespace digits
