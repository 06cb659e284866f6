// What a training run tells the world while it runs:
//   log.jsonl  one JSON object per line (DESIGN.md section 4), for scripts and plots
//   train.log  the same events as plain lines, for people
//   stderr     a one-line progress bar on a terminal; the plain lines otherwise
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace digits {

class TrainingLog {
 public:
  explicit TrainingLog(const std::string& job_dir);
  ~TrainingLog();

  void note(const std::string& message);
  // gpu: the GPU's readings (gpu/gpu_monitor.h) as the record's "gpu" object; null: none.
  void train(double epoch, int64_t iteration, int64_t total_iterations, double loss, double lr,
             double images_per_second, double data_wait_fraction,
             const nlohmann::json& gpu = nullptr);
  // top1/top5 < 0: not computed (the network has no softmax loss to score).
  void val(double epoch, int64_t iteration, double loss, double top1, double top5,
           const std::vector<std::pair<std::string, double>>& outputs);

 private:
  void line(const std::string& text);  // train.log and (unless the bar owns it) stderr
  std::string jsonl_path_, text_path_;
  bool terminal_;
  bool bar_shown_ = false;
  double start_;
  bool first_wait_warning_ = false;
};

}  // namespace digits
