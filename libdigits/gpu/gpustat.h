// digits-gpustat's library half: read every NVIDIA GPU once (gpu/nvml.h), then format the
// readings as text or JSON. Reading and formatting are separate so the formatting is tested
// from hand-made readings on machines without a GPU.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gpu/nvml.h"

namespace digits {

// Every GPU of the machine at one moment.
struct GpuReport {
  std::string time;            // UTC, ISO 8601
  std::string no_gpu_reason;   // non-empty: no NVIDIA GPU here (no driver, no device), and why
  std::string driver_version;
  std::vector<GpuReading> gpus;
};

// Reads every GPU with its processes. No driver or no device is not an error: the report says
// so in no_gpu_reason. NVML failures on a machine that has GPUs throw Error(runtime).
GpuReport read_gpu_report();

// One line per GPU: index, name, utilization, memory used/total, temperature, power and the
// processes using it (pid, command, memory). With `pid`, only the GPUs that process uses, and
// only it among their processes; a line saying so when it uses none.
std::string gpu_report_text(const GpuReport& report, std::optional<uint32_t> pid);

// The same as one JSON object (see digits-gpustat(1) for the keys). Unavailable readings are
// null; a report without GPUs has "found": false, "reason" and an empty "gpus".
nlohmann::json gpu_report_json(const GpuReport& report, std::optional<uint32_t> pid);

struct GpustatOptions {
  bool json = false;
  double watch_seconds = 0;  // > 0: print again every so many seconds until SIGINT/SIGTERM
  std::optional<uint32_t> pid;
};

// Reads and prints to `out` (once, or every watch_seconds until a SIGINT or SIGTERM, which ends
// the watch normally). Without an NVIDIA GPU it prints the JSON answer (with --json) and throws
// Error(missing) saying why, so the tool exits 4.
void run_gpustat(const GpustatOptions& options, std::FILE* out);

}  // namespace digits
