#include "train/training_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "train/job_dir.h"

namespace digits {

static double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

TrainingLog::TrainingLog(const std::string& job_dir)
    : jsonl_path_((std::filesystem::path(job_dir) / "log.jsonl").string()),
      text_path_((std::filesystem::path(job_dir) / "train.log").string()),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(now_seconds()) {}

TrainingLog::~TrainingLog() {
  if (bar_shown_) std::fputc('\n', stderr);
}

void TrainingLog::line(const std::string& text) {
  std::string stamped = utc_now_iso8601() + " " + text;
  append_line(text_path_, stamped);
  if (bar_shown_) {
    std::fputs("\r\033[K", stderr);
    bar_shown_ = false;
  }
  std::fprintf(stderr, "%s\n", text.c_str());
}

void TrainingLog::note(const std::string& message) { line(message); }

void TrainingLog::train(double epoch, int64_t iteration, int64_t total, double loss, double lr,
                        double images_per_second, double wait, const nlohmann::json& gpu) {
  double wall = now_seconds() - start_;
  nlohmann::json j = {{"type", "train"}, {"epoch", epoch}, {"iteration", iteration},
                      {"loss", loss}, {"lr", lr}, {"images_per_s", images_per_second},
                      {"data_wait", wait}, {"wall", wall}};
  if (!gpu.is_null()) j["gpu"] = gpu;
  append_line(jsonl_path_, j.dump());
  if (wait > 0.2 && !first_wait_warning_) {
    first_wait_warning_ = true;
    line(fmt::format("warning: the data loader starves the compute ({:.0f}% of the time waiting "
                     "for batches)", wait * 100));
  }
  double remaining = images_per_second > 0 && iteration > 0
                         ? wall / iteration * (total - iteration)
                         : 0;
  std::string text = fmt::format("epoch {:.2f} iter {}/{} loss {:.4f} lr {:.3g} {:.0f} img/s eta {:.0f}s",
                                 epoch, iteration, total, loss, lr, images_per_second, remaining);
  if (terminal_) {
    append_line(text_path_, utc_now_iso8601() + " " + text);
    int width = 30;
    int filled = total > 0 ? static_cast<int>(width * iteration / total) : 0;
    std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    std::fprintf(stderr, "\r\033[K[%s] %s", bar.c_str(), text.c_str());
    std::fflush(stderr);
    bar_shown_ = true;
  } else {
    line(text);
  }
}

void TrainingLog::val(double epoch, int64_t iteration, double loss, double top1, double top5,
                      const std::vector<std::pair<std::string, double>>& outputs) {
  nlohmann::json j = {{"type", "val"}, {"epoch", epoch}, {"iteration", iteration},
                      {"loss", loss}, {"wall", now_seconds() - start_}};
  if (top1 >= 0) {
    j["accuracy"] = top1;
    j["accuracy_top5"] = top5;
  }
  for (const auto& [name, value] : outputs) j["outputs"][name] = value;
  append_line(jsonl_path_, j.dump());
  std::string text = fmt::format("validation at epoch {:.2f}: loss {:.4f}", epoch, loss);
  if (top1 >= 0) text += fmt::format(", accuracy {:.4f}, top-5 {:.4f}", top1, top5);
  line(text);
}

}  // namespace digits
