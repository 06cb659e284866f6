#include "gpu/gpu_monitor.h"

#include <unistd.h>

#include "core/error.h"

#ifdef DIGITS_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace digits {

nlohmann::json gpu_log_fields(const GpuReading& gpu, uint32_t own_pid) {
  nlohmann::json j = {{"name", gpu.name}};
  if (gpu.utilization_pct) j["utilization_pct"] = *gpu.utilization_pct;
  if (gpu.memory_used_bytes) j["memory_used_mib"] = *gpu.memory_used_bytes >> 20;
  if (gpu.memory_total_bytes) j["memory_total_mib"] = *gpu.memory_total_bytes >> 20;
  for (const GpuProcess& p : gpu.processes)
    if (p.pid == own_pid && p.memory_bytes) j["process_memory_mib"] = *p.memory_bytes >> 20;
  return j;
}

TrainingGpuMonitor::TrainingGpuMonitor(std::function<void(const std::string&)> note)
    : note_(std::move(note)) {
#ifdef DIGITS_HAVE_CUDA
  try {
    int device = 0;
    char bus_id[32] = {};
    cudaError_t status = cudaGetDevice(&device);
    if (status == cudaSuccess) status = cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, device);
    std::string why;
    Nvml* nvml = nullptr;
    if (status != cudaSuccess)
      stop(fmt::format("CUDA: {}", cudaGetErrorString(status)));
    else if (!(nvml = Nvml::get(&why)))
      stop(why);
    else if (!(nvml_index_ = nvml->index_of_pci_bus_id(bus_id)))
      stop(fmt::format("NVML does not know the GPU at PCI bus id {}", bus_id));
  } catch (const Error& e) {
    stop(e.what());
  }
#else
  stop("this build of digits has no CUDA backend");
#endif
}

void TrainingGpuMonitor::stop(const std::string& why) {
  nvml_index_.reset();
  if (note_) note_(why);
}

nlohmann::json TrainingGpuMonitor::sample() {
  if (!nvml_index_) return nullptr;
  try {
    // Non-null: the constructor found NVML, and Nvml::get() keeps its first answer.
    Nvml* nvml = Nvml::get(nullptr);
    return gpu_log_fields(nvml->read(*nvml_index_, true), static_cast<uint32_t>(getpid()));
  } catch (const Error& e) {
    stop(e.what());
    return nullptr;
  }
}

}  // namespace digits
