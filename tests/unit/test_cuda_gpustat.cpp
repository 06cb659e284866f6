// NVML readings on a real GPU (run with --require-gpu: skipped where there is none). They are
// machine-dependent, so only their shape and sanity are checked; the exact formatting is tested
// in test_gpustat.cpp.
#include <doctest/doctest.h>
#include <unistd.h>

#include "gpu/gpu_monitor.h"
#include "gpu/gpustat.h"

#ifdef DIGITS_HAVE_CUDA
#include <cuda_runtime.h>

using namespace digits;

TEST_CASE("cuda gpustat: NVML sees the GPU CUDA sees, with sane readings") {
  int cuda_devices = 0;
  REQUIRE(cudaGetDeviceCount(&cuda_devices) == cudaSuccess);
  // Hold some memory so this process is among the GPU's processes.
  void* block = nullptr;
  REQUIRE(cudaMalloc(&block, 64 << 20) == cudaSuccess);
  GpuReport report = read_gpu_report();
  REQUIRE_MESSAGE(report.no_gpu_reason.empty(), report.no_gpu_reason);
  CHECK(report.gpus.size() >= static_cast<size_t>(cuda_devices));  // CUDA_VISIBLE_DEVICES may hide some
  CHECK_FALSE(report.driver_version.empty());
  bool listed = false;
  for (const GpuReading& gpu : report.gpus) {
    MESSAGE(gpu_report_text({report.time, "", report.driver_version, {gpu}}, std::nullopt));
    CHECK_FALSE(gpu.name.empty());
    REQUIRE(gpu.memory_total_bytes);
    REQUIRE(gpu.memory_used_bytes);
    CHECK(*gpu.memory_used_bytes <= *gpu.memory_total_bytes);
    if (gpu.utilization_pct) CHECK(*gpu.utilization_pct <= 100);
    for (const GpuProcess& p : gpu.processes) listed |= p.pid == static_cast<uint32_t>(getpid());
  }
  // In a container NVML may list host pids, which are not ours: worth a line, not a failure.
  if (!listed) MESSAGE("this process is not among NVML's processes (another pid namespace?)");

  std::vector<std::string> notes;
  TrainingGpuMonitor monitor([&](const std::string& note) { notes.push_back(note); });
  nlohmann::json fields = monitor.sample();
  CHECK_MESSAGE(notes.empty(), (notes.empty() ? "" : notes[0]));
  REQUIRE(fields.is_object());
  CHECK_FALSE(fields["name"].get<std::string>().empty());
  CHECK(fields["memory_used_mib"].get<int64_t>() >= 64);
  CHECK(fields["memory_total_mib"].get<int64_t>() > 0);
  MESSAGE("training log gpu object: " << fields.dump());
  cudaFree(block);
}
#endif
