// digits-train: train a network on a dataset from a YAML job spec (see digits-train(1)).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "tool_common.h"
#include "train/job_spec.h"
#include "train/trainer.h"

int main(int argc, char** argv) {
  using namespace digits;
  CLI::App app{"digits-train: train a network on a dataset from a YAML job spec"};
  app.set_version_flag("--version", version_string("digits-train"));
  TrainRequest request;
  std::string resume;
  bool print_defaults = false;
  app.add_option("spec", request.spec_file, "Job spec YAML (every key optional; see digits-job(5))");
  app.add_option("--dataset", request.dataset, "Dataset directory (overrides `dataset:`)");
  app.add_option("--network", request.network,
                 "Network name in configs/networks (lenet, alexnet, googlenet) or a YAML file");
  app.add_option("--device", request.device, "auto | cpu | gpu | gpu:N (default: DIGITS_DEVICE or auto)");
  app.add_option("--set", request.sets, "Override a spec key: --set solver.base_lr=0.1 (repeatable)");
  app.add_option("-o,--output", request.job_dir, "Job directory to create (or resume)");
  app.add_option("--resume", resume,
                 "Continue the job in JOBDIR from its last snapshot; `auto` continues the -o job "
                 "if it is unfinished and starts it otherwise");
  app.add_flag("--force", request.force, "Replace an existing job directory");
  app.add_flag("--dry-run", request.dry_run,
                "Validate spec, dataset and network; print the resolved spec, parameter count and "
                "memory estimate; train nothing");
  app.add_option("--stop-after", request.stop_after,
                 "Stop after N iterations of this run: snapshot, mark the job aborted, exit 0 "
                 "(time-sliced runs; continue with --resume)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--print-defaults", print_defaults, "Print a job spec with every default and exit");

  CLI::App* status = app.add_subcommand("status", "Show a job's state, progress and best accuracy");
  std::string status_dir;
  bool status_json = false;
  status->add_option("jobdir", status_dir, "Job directory")->required();
  status->add_flag("--json", status_json, "Machine-readable output");

  CLI::App* bench = app.add_subcommand(
      "benchmark", "Time forward and backward of every layer of a network (like `caffe time`)");
  std::string bench_network = "lenet", bench_device;
  int64_t bench_batch = 0, bench_classes = 0;
  int bench_iterations = 10;
  bool bench_json = false;
  bench->add_option("--network", bench_network, "Network name or YAML file (default lenet)");
  bench->add_option("--batch-size", bench_batch, "Batch size (default: the network's)");
  bench->add_option("--classes", bench_classes, "Class count for num_output: classes");
  bench->add_option("--iterations", bench_iterations, "Timed iterations (default 10)");
  bench->add_option("--device", bench_device, "auto | cpu | gpu | gpu:N");
  bench->add_flag("--json", bench_json, "Machine-readable output");

  if (auto status = parse_flags(app, argc, argv)) return *status;
  return run_tool("digits-train", [&]() -> int {
    if (*status) {
      std::fputs(job_status_text(status_dir, status_json).c_str(), stdout);
      return 0;
    }
    if (*bench) {
      std::fputs(benchmark_network(bench_network, bench_batch, bench_classes, bench_iterations,
                                   bench_device, bench_json).c_str(),
                 stdout);
      return 0;
    }
    if (print_defaults) {
      std::fputs(job_spec_defaults_yaml().c_str(), stdout);
      return 0;
    }
    if (request.device.empty())
      if (const char* env = std::getenv("DIGITS_DEVICE")) request.device = env;
    if (resume == "auto") {
      request.resume = "auto";
    } else if (!resume.empty()) {
      if (!request.job_dir.empty() && request.job_dir != resume)
        fail_usage("--resume JOBDIR and -o name different directories");
      request.job_dir = resume;
      request.resume = "yes";
    }
    return run_training(request);
  });
}
