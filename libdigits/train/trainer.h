// digits-train's library side: a job from spec to snapshots (DESIGN.md sections 4, 5, 5b).
#pragma once

#include <string>
#include <vector>

namespace digits {

struct TrainRequest {
  std::string spec_file;              // job spec YAML; "" for flags only
  std::string dataset;                // --dataset (overrides the spec)
  std::string network;                // --network
  std::string device;                 // --device
  std::vector<std::string> sets;      // --set key.sub=value, in order
  std::string job_dir;                // -o JOBDIR
  std::string resume;                 // "" (new job), "yes" (--resume JOBDIR), "auto"
  bool force = false;                 // replace an existing job dir
  bool dry_run = false;               // validate, print, train nothing
  int64_t stop_after = 0;             // > 0: stop (snapshot, resumable) after this many iterations
};

// Runs (or resumes) a job. Returns the exit status: 0 done, 75 preempted (SIGUSR1), 130/143
// stopped by SIGINT/SIGTERM after a resumable snapshot. Errors are thrown as digits::Error
// (after marking the job's status as error when the job dir exists).
int run_training(const TrainRequest& request);

// `digits-train status JOBDIR [--json]`: state, progress, best validation accuracy.
std::string job_status_text(const std::string& job_dir, bool json);




// `digits-train benchmark` (Caffe's `caffe time`): average forward and backward time per layer of
// a network on random input, as a table or JSON.
std::string benchmark_network(const std::string& network, int64_t batch_size, int64_t classes,
                              int iterations, const std::string& device, bool json);

}  // namespace digits
