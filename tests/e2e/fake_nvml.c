/* A stand-in for the NVIDIA driver's libnvidia-ml.so.1, for test_gpustat.sh only: with
 * LD_LIBRARY_PATH pointing at it, digits-gpustat's real loading (dlopen, dlsym), reading and
 * printing run against readings the test knows, on machines without a GPU. It implements just
 * the calls digits uses, with NVML's signatures and status codes.
 *
 * GPU 0 "Fake H100": 50% busy, 1024 of 81559 MiB, 40 C, 100 of 700 W; its compute processes are
 *   the calling process itself (512 MiB) and FAKE_NVML_PID when set (256 MiB); its graphics
 *   processes repeat the caller (listed once by digits) and add pid 4194304, which cannot exist,
 *   with unknown memory.
 * GPU 1 "Fake K80": reports neither utilization nor power; no processes.
 * Environment: FAKE_NVML_GPUS (device count, default 2), FAKE_NVML_INIT (status nvmlInit_v2
 * returns, default 0), FAKE_NVML_LOST=1 (memory queries fail with "GPU is lost"). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int nvmlReturn_t;
typedef struct { int index; } fake_device;
typedef fake_device* nvmlDevice_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

/* The same layouts as libdigits/gpu/nvml.cpp pins (NVML's documented ones). */
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t (v2/v3)");

enum { OK = 0, INVALID_ARGUMENT = 2, NOT_SUPPORTED = 3, NOT_FOUND = 6, INSUFFICIENT_SIZE = 7,
       GPU_IS_LOST = 15 };
static const unsigned long long MiB = 1ULL << 20;
static fake_device devices[8] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};

static int env_int(const char* name, int fallback) {
  const char* value = getenv(name);
  return value && *value ? atoi(value) : fallback;
}

static unsigned int gpu_count(void) {
  int n = env_int("FAKE_NVML_GPUS", 2);
  return n < 0 ? 0 : n > 8 ? 8 : (unsigned int)n;
}

nvmlReturn_t nvmlInit_v2(void) { return env_int("FAKE_NVML_INIT", OK); }
nvmlReturn_t nvmlShutdown(void) { return OK; }

const char* nvmlErrorString(nvmlReturn_t rc) {
  switch (rc) {
    case OK: return "Success";
    case NOT_SUPPORTED: return "Not Supported";
    case 9: return "Driver Not Loaded";
    case GPU_IS_LOST: return "GPU is lost";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  if (length < 8) return INSUFFICIENT_SIZE;
  strcpy(version, "999.1.2");
  return OK;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = gpu_count();
  return OK;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (index >= gpu_count()) return INVALID_ARGUMENT;
  *device = &devices[index];
  return OK;
}

/* Bus ids "0000:0N:00.0" for GPU N. */
nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* bus_id, nvmlDevice_t* device) {
  for (unsigned int i = 0; i < gpu_count(); ++i) {
    char expected[16] = "0000:00:00.0";
    expected[6] = (char)('0' + i);
    if (strcmp(bus_id, expected) == 0) {
      *device = &devices[i];
      return OK;
    }
  }
  return NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int* index) {
  *index = (unsigned int)device->index;
  return OK;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  const char* text = device->index == 0 ? "Fake H100" : "Fake K80";
  if (length <= strlen(text)) return INSUFFICIENT_SIZE;
  strcpy(name, text);
  return OK;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* u) {
  if (device->index != 0) return NOT_SUPPORTED;
  u->gpu = 50;
  u->memory = 20;
  return OK;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  if (env_int("FAKE_NVML_LOST", 0)) return GPU_IS_LOST;
  memory->total = (device->index == 0 ? 81559 : 11441) * MiB;
  memory->used = device->index == 0 ? 1024 * MiB : 0;
  memory->free = memory->total - memory->used;
  return OK;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, unsigned int sensor, unsigned int* celsius) {
  if (sensor != 0) return INVALID_ARGUMENT;
  *celsius = device->index == 0 ? 40 : 30;
  return OK;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* milliwatts) {
  if (device->index != 0) return NOT_SUPPORTED;
  *milliwatts = 100000;
  return OK;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int* milliwatts) {
  if (device->index != 0) return NOT_SUPPORTED;
  *milliwatts = 700000;
  return OK;
}

/* NVML's contract: too small a buffer gets INSUFFICIENT_SIZE and the count needed. */
static nvmlReturn_t list(const nvmlProcessInfo_t* all, unsigned int n, unsigned int* count,
                         nvmlProcessInfo_t* infos) {
  if (*count < n) {
    *count = n;
    return INSUFFICIENT_SIZE;
  }
  memcpy(infos, all, n * sizeof *all);
  *count = n;
  return OK;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                     nvmlProcessInfo_t* infos) {
  nvmlProcessInfo_t all[2] = {{(unsigned int)getpid(), 512 * MiB, 0, 0},
                              {(unsigned int)env_int("FAKE_NVML_PID", 0), 256 * MiB, 0, 0}};
  unsigned int n = device->index != 0 ? 0 : all[1].pid ? 2 : 1;
  return list(all, n, count, infos);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                      nvmlProcessInfo_t* infos) {
  nvmlProcessInfo_t all[2] = {{(unsigned int)getpid(), 512 * MiB, 0, 0}, {4194304u, ~0ULL, 0, 0}};
  return list(all, device->index == 0 ? 2 : 0, count, infos);
}
