#include "gpu/nvml.h"

#include <dlfcn.h>

#include <cstddef>
#include <fstream>
#include <iterator>
#include <memory>

#include "core/error.h"

namespace digits {

namespace {

// Our own declarations of the few NVML types and values we use, as NVML's nvml.h defines them
// (stable ABI since CUDA 11), so building needs no NVML header.
using nvmlReturn_t = int;
struct nvmlDevice_st;
using nvmlDevice_t = nvmlDevice_st*;
struct nvmlMemory_t {
  unsigned long long total, free, used;  // bytes
};
struct nvmlUtilization_t {
  unsigned int gpu, memory;  // percent
};
// nvmlProcessInfo_t as the _v2 and _v3 process queries fill it.
struct nvmlProcessInfo_t {
  unsigned int pid;
  unsigned long long usedGpuMemory;  // bytes, or kNvmlValueNotAvailable
  unsigned int gpuInstanceId, computeInstanceId;
};

// The layouts NVML's documentation gives (x86-64 and aarch64 Linux): a wrong one would not fail,
// it would silently read garbage, so the sizes are pinned. nvmlProcessInfo_t is the four-field
// structure of the _v2 and _v3 queries (24 bytes); the unversioned query's nvmlProcessInfo_v1_t
// has only pid and usedGpuMemory (16 bytes) and is not used.
static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t (v1): total, free, used");
static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t: gpu, memory");
static_assert(sizeof(nvmlProcessInfo_t) == 24 && offsetof(nvmlProcessInfo_t, usedGpuMemory) == 8 &&
                  offsetof(nvmlProcessInfo_t, gpuInstanceId) == 16,
              "nvmlProcessInfo_t (v2/v3): pid, usedGpuMemory, gpuInstanceId, computeInstanceId");

constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr nvmlReturn_t kNvmlNotSupported = 3;
constexpr nvmlReturn_t kNvmlNoPermission = 4;
constexpr nvmlReturn_t kNvmlNotFound = 6;
constexpr nvmlReturn_t kNvmlInsufficientSize = 7;
constexpr nvmlReturn_t kNvmlDriverNotLoaded = 9;
constexpr unsigned int kNvmlTemperatureGpu = 0;
constexpr unsigned long long kNvmlValueNotAvailable = ~0ULL;
constexpr unsigned int kNameBufferSize = 96;           // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned int kDriverVersionBufferSize = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

using ProcessQuery = nvmlReturn_t (*)(nvmlDevice_t, unsigned int*, nvmlProcessInfo_t*);

}  // namespace

struct Nvml::Api {
  nvmlReturn_t (*init)();
  const char* (*error_string)(nvmlReturn_t);
  nvmlReturn_t (*driver_version)(char*, unsigned int);
  nvmlReturn_t (*device_count)(unsigned int*);
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*handle_by_pci_bus_id)(const char*, nvmlDevice_t*);
  nvmlReturn_t (*index)(nvmlDevice_t, unsigned int*);
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*);
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*);
  nvmlReturn_t (*temperature)(nvmlDevice_t, unsigned int, unsigned int*);
  nvmlReturn_t (*power_usage)(nvmlDevice_t, unsigned int*);       // milliwatts
  nvmlReturn_t (*power_limit)(nvmlDevice_t, unsigned int*);       // milliwatts
  ProcessQuery compute_processes;
  ProcessQuery graphics_processes;

  std::string message(nvmlReturn_t rc) const {
    const char* text = error_string ? error_string(rc) : nullptr;
    return fmt::format("{} (NVML error {})", text ? text : "unknown error", rc);
  }
};

namespace {

// The first of `names` the library exports; nullptr when none (an older driver).
template <typename F>
F find_symbol(void* library, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (void* symbol = dlsym(library, name)) return reinterpret_cast<F>(symbol);
  return nullptr;
}

template <typename F>
F require_symbol(void* library, std::initializer_list<const char*> names) {
  F symbol = find_symbol<F>(library, names);
  if (!symbol)
    fail_runtime("libnvidia-ml.so.1 lacks {}: the NVIDIA driver is too old for digits-gpustat",
                 *names.begin());
  return symbol;
}

struct Loaded {
  std::unique_ptr<Nvml::Api> api;  // null when NVML is unavailable
  std::string why;                 // why it is unavailable: no driver here
  std::string error;               // or why it failed: a real error
};

Loaded load() {
  Loaded loaded;
  // Never dlclose'd: NVML stays initialised for the life of the process.
  void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* reason = dlerror();
    loaded.why = fmt::format("the NVIDIA driver's library is not here ({})",
                             reason ? reason : "libnvidia-ml.so.1: not found");
    return loaded;
  }
  try {
    auto api = std::make_unique<Nvml::Api>();
    api->error_string = find_symbol<decltype(api->error_string)>(library, {"nvmlErrorString"});
    api->init = require_symbol<decltype(api->init)>(library, {"nvmlInit_v2", "nvmlInit"});
    api->driver_version = require_symbol<decltype(api->driver_version)>(library, {"nvmlSystemGetDriverVersion"});
    api->device_count = require_symbol<decltype(api->device_count)>(library, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"});
    api->handle_by_index = require_symbol<decltype(api->handle_by_index)>(library, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"});
    api->handle_by_pci_bus_id = require_symbol<decltype(api->handle_by_pci_bus_id)>(library, {"nvmlDeviceGetHandleByPciBusId_v2"});
    api->index = require_symbol<decltype(api->index)>(library, {"nvmlDeviceGetIndex"});
    api->name = require_symbol<decltype(api->name)>(library, {"nvmlDeviceGetName"});
    api->utilization = require_symbol<decltype(api->utilization)>(library, {"nvmlDeviceGetUtilizationRates"});
    api->memory = require_symbol<decltype(api->memory)>(library, {"nvmlDeviceGetMemoryInfo"});
    api->temperature = require_symbol<decltype(api->temperature)>(library, {"nvmlDeviceGetTemperature"});
    api->power_usage = require_symbol<decltype(api->power_usage)>(library, {"nvmlDeviceGetPowerUsage"});
    api->power_limit = require_symbol<decltype(api->power_limit)>(library, {"nvmlDeviceGetEnforcedPowerLimit"});
    // _v3 and _v2 fill the same four-field structure; the unversioned query fills a shorter
    // one and is deliberately not used.
    api->compute_processes = require_symbol<ProcessQuery>(
        library, {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"});
    api->graphics_processes = require_symbol<ProcessQuery>(
        library, {"nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2"});
    nvmlReturn_t rc = api->init();
    if (rc == kNvmlDriverNotLoaded) {
      loaded.why = fmt::format("NVML: {}: no NVIDIA driver is running here", api->message(rc));
      return loaded;
    }
    if (rc != kNvmlSuccess) fail_runtime("NVML nvmlInit: {}", api->message(rc));
    loaded.api = std::move(api);
  } catch (const Error& e) {
    loaded.error = e.what();
  }
  return loaded;
}

}  // namespace

Nvml* Nvml::get(std::string* why) {
  static const Loaded loaded = load();
  static Nvml nvml(loaded.api.get());
  if (!loaded.error.empty()) fail_runtime("{}", loaded.error);
  if (!loaded.api) {
    if (why) *why = loaded.why;
    return nullptr;
  }
  return &nvml;
}

namespace {

// Every call's status: success goes on; anything else is an error naming the call and the GPU.
void check(const Nvml::Api& api, nvmlReturn_t rc, const char* call, int64_t gpu) {
  if (rc == kNvmlSuccess) return;
  if (gpu >= 0) fail_runtime("NVML {} (GPU {}): {}", call, gpu, api.message(rc));
  fail_runtime("NVML {}: {}", call, api.message(rc));
}

// For readings a GPU may not offer (power on some boards, anything without permission): true
// when the value was read, false when it is not available, an error otherwise.
bool check_optional(const Nvml::Api& api, nvmlReturn_t rc, const char* call, uint32_t gpu) {
  if (rc == kNvmlNotSupported || rc == kNvmlNoPermission) return false;
  check(api, rc, call, gpu);
  return true;
}

// Appends the processes one query lists, skipping pids already present. The list can grow
// between the two calls, so the sizing call is repeated a few times.
void add_processes(const Nvml::Api& api, ProcessQuery query, const char* call, nvmlDevice_t device,
                   uint32_t gpu, std::vector<GpuProcess>& processes) {
  std::vector<nvmlProcessInfo_t> infos;
  unsigned int count = 0;
  nvmlReturn_t rc = kNvmlInsufficientSize;
  for (int attempt = 0; attempt < 4 && rc == kNvmlInsufficientSize; ++attempt) {
    infos.resize(count + 8);
    count = static_cast<unsigned int>(infos.size());
    rc = query(device, &count, infos.data());
  }
  if (!check_optional(api, rc, call, gpu)) return;
  for (unsigned int i = 0; i < count; ++i) {
    const nvmlProcessInfo_t& info = infos[i];
    bool seen = false;
    for (const GpuProcess& p : processes) seen |= p.pid == info.pid;
    if (seen) continue;
    GpuProcess process;
    process.pid = info.pid;
    if (info.usedGpuMemory != kNvmlValueNotAvailable) process.memory_bytes = info.usedGpuMemory;
    process.command = process_command(info.pid);
    processes.push_back(std::move(process));
  }
}

}  // namespace

std::string Nvml::driver_version() {
  char buffer[kDriverVersionBufferSize] = {};
  check(*api_, api_->driver_version(buffer, sizeof buffer), "nvmlSystemGetDriverVersion", -1);
  return buffer;
}

uint32_t Nvml::device_count() {
  unsigned int count = 0;
  check(*api_, api_->device_count(&count), "nvmlDeviceGetCount", -1);
  return count;
}

GpuReading Nvml::read(uint32_t index, bool with_processes) {
  const Api& api = *api_;
  nvmlDevice_t device = nullptr;
  check(api, api.handle_by_index(index, &device), "nvmlDeviceGetHandleByIndex", index);
  GpuReading r;
  r.index = index;
  char name[kNameBufferSize] = {};
  check(api, api.name(device, name, sizeof name), "nvmlDeviceGetName", index);
  r.name = name;
  nvmlUtilization_t utilization = {};
  if (check_optional(api, api.utilization(device, &utilization), "nvmlDeviceGetUtilizationRates", index))
    r.utilization_pct = utilization.gpu;
  nvmlMemory_t memory = {};
  if (check_optional(api, api.memory(device, &memory), "nvmlDeviceGetMemoryInfo", index)) {
    r.memory_used_bytes = memory.used;
    r.memory_total_bytes = memory.total;
  }
  unsigned int value = 0;
  if (check_optional(api, api.temperature(device, kNvmlTemperatureGpu, &value), "nvmlDeviceGetTemperature", index))
    r.temperature_c = value;
  if (check_optional(api, api.power_usage(device, &value), "nvmlDeviceGetPowerUsage", index))
    r.power_w = value / 1000.0;
  if (check_optional(api, api.power_limit(device, &value), "nvmlDeviceGetEnforcedPowerLimit", index))
    r.power_limit_w = value / 1000.0;
  if (with_processes) {
    add_processes(api, api.compute_processes, "nvmlDeviceGetComputeRunningProcesses", device, index, r.processes);
    add_processes(api, api.graphics_processes, "nvmlDeviceGetGraphicsRunningProcesses", device, index, r.processes);
  }
  return r;
}

std::optional<uint32_t> Nvml::index_of_pci_bus_id(const std::string& bus_id) {
  nvmlDevice_t device = nullptr;
  nvmlReturn_t rc = api_->handle_by_pci_bus_id(bus_id.c_str(), &device);
  if (rc == kNvmlNotFound) return std::nullopt;
  check(*api_, rc, "nvmlDeviceGetHandleByPciBusId", -1);
  unsigned int index = 0;
  check(*api_, api_->index(device, &index), "nvmlDeviceGetIndex", -1);
  return index;
}

std::string process_command(uint32_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  if (!in) return "";
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Arguments are NUL-terminated; a process may also rewrite its own title with spaces.
  std::string command;
  for (char c : raw) command += c == '\0' ? ' ' : c;
  while (!command.empty() && command.back() == ' ') command.pop_back();
  return command;
}

}  // namespace digits
