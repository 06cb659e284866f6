// The GPU readings digits-train adds to each training record of log.jsonl while it trains on a
// GPU (DIGITS's training page showed them beside the loss curve).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "gpu/nvml.h"

namespace digits {

// The record's "gpu" object: {"name", "utilization_pct", "memory_used_mib", "memory_total_mib",
// "process_memory_mib"}; the last is this process's own use (`own_pid`) when NVML lists it.
// Readings the GPU does not offer are left out.
nlohmann::json gpu_log_fields(const GpuReading& gpu, uint32_t own_pid);

class TrainingGpuMonitor {
 public:
  // Follows the CUDA device the calling thread uses (cudaGetDevice: the backend's), found in
  // NVML by its PCI bus id, because CUDA_VISIBLE_DEVICES renumbers CUDA's devices and not
  // NVML's. Never throws: when NVML or the device cannot be found, `note` is told why (once)
  // and sample() gives null.
  explicit TrainingGpuMonitor(std::function<void(const std::string&)> note);
  // The "gpu" object for the next training record; null when unavailable. A failed reading
  // turns the monitor off, telling `note` what failed: training goes on without it.
  nlohmann::json sample();

 private:
  void stop(const std::string& why);
  std::function<void(const std::string&)> note_;
  std::optional<uint32_t> nvml_index_;
};

}  // namespace digits
