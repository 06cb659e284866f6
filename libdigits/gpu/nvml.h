// NVIDIA's management library (NVML), loaded at run time with dlopen("libnvidia-ml.so.1"), so
// digits builds without NVML's header and runs on machines without the NVIDIA driver (DESIGN.md
// section 3, module `gpu`). Only the readings digits-gpustat and the training log need.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace digits {

// One process holding memory on a GPU, as NVML lists it.
struct GpuProcess {
  uint32_t pid = 0;
  std::optional<uint64_t> memory_bytes;  // unset: NVML does not know (another pid namespace, ...)
  std::string command;                   // from /proc/PID/cmdline; "" when not visible from here
};

// One GPU at one moment. Optional fields are unset when the GPU does not report them
// (NVML_ERROR_NOT_SUPPORTED or NO_PERMISSION); they are shown as "n/a".
struct GpuReading {
  uint32_t index = 0;  // NVML's index, the one nvidia-smi shows (not CUDA's, which
                       // CUDA_VISIBLE_DEVICES renumbers)
  std::string name;
  std::optional<uint32_t> utilization_pct;  // share of the last sample period a kernel ran
  std::optional<uint64_t> memory_used_bytes, memory_total_bytes;
  std::optional<uint32_t> temperature_c;
  std::optional<double> power_w, power_limit_w;
  std::vector<GpuProcess> processes;  // compute and graphics processes, each pid once
};

class Nvml {
 public:
  // The process-wide NVML, loaded and initialised on first use. nullptr, with the reason in
  // *why, when there is no NVIDIA driver here: libnvidia-ml.so.1 cannot be loaded or reports
  // that the driver is not loaded. Throws Error(runtime) for a library that loads but fails
  // otherwise (too old, no permission, ...), which is a real error rather than "no GPU".
  static Nvml* get(std::string* why);

  std::string driver_version();
  uint32_t device_count();
  // Every reading of GPU `index` (NVML order). Processes are read only when asked (one more
  // driver call per kind) and their commands are looked up in /proc.
  GpuReading read(uint32_t index, bool with_processes);
  // The NVML index of the GPU at a PCI bus id as CUDA spells it ("0000:65:00.0"), or nothing.
  std::optional<uint32_t> index_of_pci_bus_id(const std::string& bus_id);

  struct Api;  // the resolved function pointers (nvml.cpp)

 private:
  explicit Nvml(const Api* api) : api_(api) {}
  const Api* api_;
};

// The command line of a process from /proc/PID/cmdline, arguments joined by single spaces;
// "" when the process is gone or not visible (another pid namespace, hidepid).
std::string process_command(uint32_t pid);

}  // namespace digits
