#include "gpu/gpustat.h"

#include <chrono>
#include <ctime>
#include <thread>

#include "core/error.h"
#include "core/signals.h"

namespace digits {

namespace {

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm = {};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

int64_t mib(uint64_t bytes) { return static_cast<int64_t>(bytes >> 20); }

// Long command lines (python -m ... with many flags) would push the line past any terminal;
// the text keeps their start, the JSON has them whole.
std::string short_command(const std::string& command) {
  constexpr size_t kMax = 48;
  if (command.empty()) return "?";
  if (command.size() <= kMax) return command;
  return command.substr(0, kMax - 3) + "...";
}

std::string process_text(const GpuProcess& p) {
  std::string memory = p.memory_bytes ? fmt::format("{} MiB", mib(*p.memory_bytes)) : "memory n/a";
  return fmt::format("{} {} ({})", p.pid, short_command(p.command), memory);
}

bool uses(const GpuReading& gpu, uint32_t pid) {
  for (const GpuProcess& p : gpu.processes)
    if (p.pid == pid) return true;
  return false;
}

// The GPUs to show and, on each, the processes to show.
std::vector<GpuReading> selected(const GpuReport& report, std::optional<uint32_t> pid) {
  if (!pid) return report.gpus;
  std::vector<GpuReading> gpus;
  for (const GpuReading& gpu : report.gpus) {
    if (!uses(gpu, *pid)) continue;
    GpuReading only = gpu;
    std::erase_if(only.processes, [&](const GpuProcess& p) { return p.pid != *pid; });
    gpus.push_back(std::move(only));
  }
  return gpus;
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json mib_or_null(const std::optional<uint64_t>& bytes) {
  return bytes ? nlohmann::json(mib(*bytes)) : nlohmann::json(nullptr);
}

}  // namespace

GpuReport read_gpu_report() {
  GpuReport report;
  report.time = utc_now();
  Nvml* nvml = Nvml::get(&report.no_gpu_reason);
  if (!nvml) return report;
  report.driver_version = nvml->driver_version();
  uint32_t count = nvml->device_count();
  if (count == 0) {
    report.no_gpu_reason = fmt::format("the NVIDIA driver {} sees no GPU", report.driver_version);
    return report;
  }
  for (uint32_t i = 0; i < count; ++i) report.gpus.push_back(nvml->read(i, true));
  return report;
}

std::string gpu_report_text(const GpuReport& report, std::optional<uint32_t> pid) {
  std::vector<GpuReading> gpus = selected(report, pid);
  if (pid && gpus.empty()) return fmt::format("process {} uses no NVIDIA GPU\n", *pid);
  size_t name_width = 0;
  for (const GpuReading& gpu : gpus) name_width = std::max(name_width, gpu.name.size());
  std::string out;
  for (const GpuReading& gpu : gpus) {
    std::string util = gpu.utilization_pct ? fmt::format("{:3}%", *gpu.utilization_pct) : " n/a";
    std::string memory = gpu.memory_used_bytes && gpu.memory_total_bytes
                             ? fmt::format("{}/{} MiB", mib(*gpu.memory_used_bytes), mib(*gpu.memory_total_bytes))
                             : "n/a";
    std::string temp = gpu.temperature_c ? fmt::format("{} C", *gpu.temperature_c) : "n/a";
    std::string power = !gpu.power_w ? "n/a"
                        : gpu.power_limit_w ? fmt::format("{:.0f}/{:.0f} W", *gpu.power_w, *gpu.power_limit_w)
                                            : fmt::format("{:.0f} W", *gpu.power_w);
    std::string processes;
    for (const GpuProcess& p : gpu.processes) processes += (processes.empty() ? "" : ", ") + process_text(p);
    out += fmt::format("{}  {:<{}}  util {}  memory {}  temp {}  power {}  processes: {}\n", gpu.index,
                       gpu.name, name_width, util, memory, temp, power,
                       processes.empty() ? "none" : processes);
  }
  return out;
}

nlohmann::json gpu_report_json(const GpuReport& report, std::optional<uint32_t> pid) {
  nlohmann::json j = {{"time", report.time}, {"found", report.no_gpu_reason.empty()}};
  if (!report.no_gpu_reason.empty()) j["reason"] = report.no_gpu_reason;
  if (!report.driver_version.empty()) j["driver_version"] = report.driver_version;
  if (pid) j["pid"] = *pid;
  j["gpus"] = nlohmann::json::array();
  for (const GpuReading& gpu : selected(report, pid)) {
    nlohmann::json processes = nlohmann::json::array();
    for (const GpuProcess& p : gpu.processes)
      processes.push_back({{"pid", p.pid},
                           {"command", p.command.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.command)},
                           {"memory_mib", mib_or_null(p.memory_bytes)}});
    j["gpus"].push_back({{"index", gpu.index},
                         {"name", gpu.name},
                         {"utilization_pct", or_null(gpu.utilization_pct)},
                         {"memory_used_mib", mib_or_null(gpu.memory_used_bytes)},
                         {"memory_total_mib", mib_or_null(gpu.memory_total_bytes)},
                         {"temperature_c", or_null(gpu.temperature_c)},
                         {"power_w", or_null(gpu.power_w)},
                         {"power_limit_w", or_null(gpu.power_limit_w)},
                         {"processes", processes}});
  }
  return j;
}

void run_gpustat(const GpustatOptions& options, std::FILE* out) {
  if (options.watch_seconds < 0) fail_usage("--watch {}: expected a positive number of seconds", options.watch_seconds);
  const bool watch = options.watch_seconds > 0;
  if (watch) install_stop_handlers();
  const auto interval = std::chrono::duration<double>(options.watch_seconds);
  while (true) {
    auto start = std::chrono::steady_clock::now();
    GpuReport report = read_gpu_report();
    if (!report.no_gpu_reason.empty()) {
      if (options.json) fmt::print(out, "{}\n", gpu_report_json(report, options.pid).dump());
      std::fflush(out);
      fail(ExitCode::missing, "no NVIDIA GPU found: {}", report.no_gpu_reason);
    }
    if (options.json) {
      fmt::print(out, "{}\n", gpu_report_json(report, options.pid).dump());
    } else {
      if (watch) fmt::print(out, "{}\n", report.time);
      std::fputs(gpu_report_text(report, options.pid).c_str(), out);
    }
    std::fflush(out);
    if (!watch) return;
    // Sleep in short slices so a SIGINT ends the watch within a tenth of a second.
    while (std::chrono::steady_clock::now() - start < interval && !stop_signal())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (stop_signal()) return;
  }
}

}  // namespace digits
