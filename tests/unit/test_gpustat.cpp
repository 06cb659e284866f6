// digits-gpustat's formatting and the training log's GPU object, from hand-made readings (no GPU
// needed), and the /proc lookup of a process's command.
#include <doctest/doctest.h>
#include <unistd.h>

#include "backend/backend.h"
#include "core/fs.h"
#include "gpu/gpu_monitor.h"
#include "gpu/gpustat.h"
#include "gpu/nvml.h"
#include "temp_dir.h"
#include "train/training_log.h"

using namespace digits;

namespace {

constexpr uint64_t kMiB = 1 << 20;

// Two GPUs: a busy H100 with two processes (one whose memory and command NVML and /proc do
// not give), and an idle board that reports neither utilization nor power.
GpuReport two_gpus() {
  GpuReport report;
  report.time = "2025-01-02T03:04:05Z";
  report.driver_version = "570.86.15";
  GpuReading busy;
  busy.index = 0;
  busy.name = "NVIDIA H100 80GB HBM3";
  busy.utilization_pct = 97;
  busy.memory_used_bytes = 20480 * kMiB + 12345;  // rounded down to whole MiB
  busy.memory_total_bytes = 81559 * kMiB;
  busy.temperature_c = 61;
  busy.power_w = 512.4;
  busy.power_limit_w = 700;
  busy.processes = {{4242, 20000 * kMiB, "digits-train job.yaml -o jobs/alexnet"},
                    {77, std::nullopt, ""}};
  GpuReading idle;
  idle.index = 1;
  idle.name = "Tesla K80";
  idle.memory_used_bytes = 0;
  idle.memory_total_bytes = 11441 * kMiB;
  idle.temperature_c = 30;
  report.gpus = {busy, idle};
  return report;
}

}  // namespace

TEST_CASE("gpustat text: one aligned line per GPU with its processes, n/a for what is not reported") {
  std::string text = gpu_report_text(two_gpus(), std::nullopt);
  CHECK(text ==
        "0  NVIDIA H100 80GB HBM3  util  97%  memory 20480/81559 MiB  temp 61 C  power 512/700 W  "
        "processes: 4242 digits-train job.yaml -o jobs/alexnet (20000 MiB), 77 ? (memory n/a)\n"
        "1  Tesla K80              util  n/a  memory 0/11441 MiB  temp 30 C  power n/a  processes: none\n");
}

TEST_CASE("gpustat text: long commands are cut, a power reading without a limit stands alone") {
  GpuReport report = two_gpus();
  report.gpus[0].processes = {{9, 5 * kMiB, "python3 -m torch.distributed.run --nproc-per-node 8 train.py --lr 0.1"}};
  report.gpus[0].power_limit_w.reset();
  std::string text = gpu_report_text(report, std::nullopt);
  CHECK(text.find("power 512 W") != std::string::npos);
  CHECK(text.find("9 python3 -m torch.distributed.run --nproc-per-... (5 MiB)") != std::string::npos);
}

TEST_CASE("gpustat --pid: only the GPUs the process uses, only it among their processes") {
  std::string text = gpu_report_text(two_gpus(), 4242u);
  CHECK(text ==
        "0  NVIDIA H100 80GB HBM3  util  97%  memory 20480/81559 MiB  temp 61 C  power 512/700 W  "
        "processes: 4242 digits-train job.yaml -o jobs/alexnet (20000 MiB)\n");
  CHECK(gpu_report_text(two_gpus(), 5u) == "process 5 uses no NVIDIA GPU\n");

  nlohmann::json j = gpu_report_json(two_gpus(), 4242u);
  CHECK(j["pid"] == 4242);
  REQUIRE(j["gpus"].size() == 1);
  CHECK(j["gpus"][0]["processes"].size() == 1);
  CHECK(gpu_report_json(two_gpus(), 5u)["gpus"].empty());
}

TEST_CASE("gpustat JSON: every reading, null where not reported") {
  nlohmann::json j = gpu_report_json(two_gpus(), std::nullopt);
  CHECK(j["found"] == true);
  CHECK(j["time"] == "2025-01-02T03:04:05Z");
  CHECK(j["driver_version"] == "570.86.15");
  CHECK_FALSE(j.contains("reason"));
  CHECK_FALSE(j.contains("pid"));
  REQUIRE(j["gpus"].size() == 2);
  const nlohmann::json& busy = j["gpus"][0];
  CHECK(busy["index"] == 0);
  CHECK(busy["name"] == "NVIDIA H100 80GB HBM3");
  CHECK(busy["utilization_pct"] == 97);
  CHECK(busy["memory_used_mib"] == 20480);
  CHECK(busy["memory_total_mib"] == 81559);
  CHECK(busy["temperature_c"] == 61);
  CHECK(busy["power_w"].get<double>() == doctest::Approx(512.4));
  CHECK(busy["power_limit_w"].get<double>() == doctest::Approx(700));
  REQUIRE(busy["processes"].size() == 2);
  CHECK(busy["processes"][0] ==
        nlohmann::json({{"pid", 4242}, {"command", "digits-train job.yaml -o jobs/alexnet"}, {"memory_mib", 20000}}));
  CHECK(busy["processes"][1] == nlohmann::json({{"pid", 77}, {"command", nullptr}, {"memory_mib", nullptr}}));
  const nlohmann::json& idle = j["gpus"][1];
  CHECK(idle["utilization_pct"].is_null());
  CHECK(idle["power_w"].is_null());
  CHECK(idle["power_limit_w"].is_null());
  CHECK(idle["processes"] == nlohmann::json::array());
}

TEST_CASE("gpustat JSON without a GPU: found false, the reason, no GPUs") {
  GpuReport report;
  report.time = "2025-01-02T03:04:05Z";
  report.no_gpu_reason = "libnvidia-ml.so.1 cannot be loaded (not found): no NVIDIA driver here";
  nlohmann::json j = gpu_report_json(report, std::nullopt);
  CHECK(j == nlohmann::json({{"time", "2025-01-02T03:04:05Z"},
                             {"found", false},
                             {"reason", report.no_gpu_reason},
                             {"gpus", nlohmann::json::array()}}));
}

TEST_CASE("process_command: /proc/PID/cmdline with arguments joined by spaces, empty when gone") {
  std::string own = process_command(static_cast<uint32_t>(getpid()));
  CHECK(own.find("digits-tests") != std::string::npos);
  CHECK(own.find('\0') == std::string::npos);
  // pid_max is at most 2^22 on Linux: this pid cannot exist.
  CHECK(process_command(4u << 22) == "");
}

TEST_CASE("training log gpu object: name, utilization, memory, this process's own memory") {
  GpuReport report = two_gpus();
  CHECK(gpu_log_fields(report.gpus[0], 4242) == nlohmann::json({{"name", "NVIDIA H100 80GB HBM3"},
                                                                {"utilization_pct", 97},
                                                                {"memory_used_mib", 20480},
                                                                {"memory_total_mib", 81559},
                                                                {"process_memory_mib", 20000}}));
  // Not among the GPU's processes, or listed without memory: no process_memory_mib; readings the
  // GPU does not offer are left out.
  CHECK_FALSE(gpu_log_fields(report.gpus[0], 5).contains("process_memory_mib"));
  CHECK_FALSE(gpu_log_fields(report.gpus[0], 77).contains("process_memory_mib"));
  CHECK(gpu_log_fields(report.gpus[1], 4242) ==
        nlohmann::json({{"name", "Tesla K80"}, {"memory_used_mib", 0}, {"memory_total_mib", 11441}}));
}

TEST_CASE("training GPU monitor without a usable CUDA device: says why once, logs nothing") {
  std::string why;
  if (cuda_available(&why)) return;  // a GPU machine: the GPU suite checks the readings
  std::vector<std::string> notes;
  TrainingGpuMonitor monitor([&](const std::string& note) { notes.push_back(note); });
  CHECK(monitor.sample().is_null());
  CHECK(monitor.sample().is_null());
  REQUIRE(notes.size() == 1);
  CHECK_FALSE(notes[0].empty());
}

TEST_CASE("training log: a training record carries the gpu object when given one") {
  testing::TempDir dir;
  {
    TrainingLog log(dir.path);
    log.train(0.5, 10, 20, 1.25, 0.01, 1000, 0, nlohmann::json({{"name", "NVIDIA H100"}, {"utilization_pct", 99}}));
    log.train(1.0, 20, 20, 1.0, 0.01, 1000, 0);
  }
  std::string text = read_file(dir / "log.jsonl");
  size_t newline = text.find('\n');
  nlohmann::json first = nlohmann::json::parse(text.substr(0, newline));
  nlohmann::json second = nlohmann::json::parse(text.substr(newline + 1));
  CHECK(first["gpu"] == nlohmann::json({{"name", "NVIDIA H100"}, {"utilization_pct", 99}}));
  CHECK(first["iteration"] == 10);
  CHECK_FALSE(second.contains("gpu"));
}
