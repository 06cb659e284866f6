// digits-gpustat: what every NVIDIA GPU of this machine is doing, one line per GPU (DIGITS's
// training page showed the same). Parses flags and calls the library (gpu/gpustat.h); man page:
// man/man1/digits-gpustat.1. Without an NVIDIA driver or GPU it says so and exits 4.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "core/error.h"
#include "gpu/gpustat.h"
#include "tool_common.h"

using namespace digits;

int main(int argc, char** argv) {
  const char* const tool = "digits-gpustat";
  CLI::App app{"digits-gpustat: utilization, memory, temperature, power and processes of each NVIDIA GPU", tool};
  app.set_version_flag("--version", version_string(tool));
  GpustatOptions options;
  uint32_t pid = 0;
  app.add_flag("--json", options.json, "Print one JSON object (per refresh) instead of text");
  app.add_option("--watch", options.watch_seconds, "Print again every SECONDS until interrupted (Ctrl-C)")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  CLI::Option* pid_option =
      app.add_option("--pid", pid, "Only the GPUs process PID uses, and its memory on each")
          ->type_name("PID")
          ->check(CLI::PositiveNumber);

  if (auto status = parse_flags(app, argc, argv)) return *status;
  if (*pid_option) options.pid = pid;
  return run_tool(tool, [&]() -> int {
    run_gpustat(options, stdout);
    return 0;
  });
}
