// The job directory (DESIGN.md section 4), shared by digits-train (writer) and digits-infer /
// digits-export (readers):
//   job.yaml            the resolved job spec (re-runnable as is)
//   network.yaml        the network spec as trained (classes resolved)
//   preprocess.yaml     what an image goes through before the network (see Preprocess)
//   labels.txt          class names, line i = class i
//   mean.binaryproto    the dataset's mean (when transforms.mean is not none)
//   status.yaml         state, pid, host, times, epoch, iteration, message, best accuracy
//   log.jsonl           one JSON object per line: {"type": "train"|"val", ...}
//   train.log           the human log
//   snapshots/epoch_E.safetensors + epoch_E.solverstate.safetensors
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace digits {

constexpr const char* kWeightsFormat = "digits.weights";

struct Preprocess {
  int64_t channels = 0, height = 0, width = 0;  // the dataset's records
  std::string resize_mode = "squash";           // how other images are brought to that size
  int64_t crop = 0;                             // centre crop at inference
  std::string mean = "none";                    // none | image | pixel (mean.binaryproto)
  double data_scale = 1.0;
};
void write_preprocess(const std::string& job_dir, const Preprocess& preprocess);
Preprocess read_preprocess(const std::string& job_dir);

struct SnapshotInfo {
  std::string weights;      // path of epoch_E.safetensors
  std::string solver_state; // path of epoch_E.solverstate.safetensors
  double epoch = 0;
  int64_t iteration = 0;
  double val_accuracy = -1; // top-1 accuracy of the validation run at this point; -1: none
};
// Complete snapshots (weights and solver state both present), oldest first.
std::vector<SnapshotInfo> list_snapshots(const std::string& job_dir);
// "last", "best" (highest val_accuracy; the last one when none was validated), or an epoch
// number ("3", "2.5"). Usage error listing the available epochs when there is no match.
SnapshotInfo select_snapshot(const std::string& job_dir, const std::string& which);
// "epoch_3", "epoch_2.5": the file stem for a snapshot at a (possibly fractional) epoch.
std::string snapshot_stem(double epoch);

struct JobStatus {
  std::string state = "queued";  // queued | running | done | error | aborted | preempted
  int64_t pid = 0;
  std::string host;
  std::string started, updated;  // ISO 8601 UTC
  double epoch = 0;
  int64_t iteration = 0, total_iterations = 0;
  double best_val_accuracy = -1;
  std::string message;
};
void write_status(const std::string& job_dir, const JobStatus& status);
JobStatus read_status(const std::string& job_dir);
// True when job_dir holds a job (job.yaml and status.yaml).
bool is_job_dir(const std::string& job_dir);
// Usage error naming the path when it is not a job dir.
void require_job_dir(const std::string& job_dir);

std::string utc_now_iso8601();

}  // namespace digits
