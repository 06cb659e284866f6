#include "train/job_dir.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "core/error.h"
#include "core/fs.h"
#include "core/yaml_safe.h"
#include "nn/layer_config.h"
#include "train/safetensors.h"

namespace digits {

namespace fs = std::filesystem;

static std::string join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

void write_preprocess(const std::string& job_dir, const Preprocess& p) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "format_version" << YAML::Value << 1;
  out << YAML::Key << "channels" << YAML::Value << p.channels;
  out << YAML::Key << "height" << YAML::Value << p.height;
  out << YAML::Key << "width" << YAML::Value << p.width;
  out << YAML::Key << "resize_mode" << YAML::Value << p.resize_mode;
  out << YAML::Key << "crop" << YAML::Value << p.crop;
  out << YAML::Key << "mean" << YAML::Value << p.mean;
  out << YAML::Key << "data_scale" << YAML::Value << p.data_scale << YAML::EndMap;
  write_file_atomic(join(job_dir, "preprocess.yaml"), std::string(out.c_str()) + "\n");
}

Preprocess read_preprocess(const std::string& job_dir) {
  std::string path = join(job_dir, "preprocess.yaml");
  LayerConfig v = LayerConfig::section(load_yaml_file(path), path, "");
  if (v.get_int("format_version", 0) != 1)
    fail_data("{}: unsupported format_version (this digits reads version 1)", path);
  Preprocess p;
  p.channels = v.get_int_at_least("channels", 0, 1);
  p.height = v.get_int_at_least("height", 0, 1);
  p.width = v.get_int_at_least("width", 0, 1);
  p.resize_mode = v.get_choice("resize_mode", "squash", {"squash", "crop", "fill", "half_crop"});
  p.crop = v.get_int_at_least("crop", 0, 0);
  p.mean = v.get_choice("mean", "none", {"none", "image", "pixel"});
  p.data_scale = v.get_float("data_scale", 1.0);
  return p;
}

std::string snapshot_stem(double epoch) {
  // Whole epochs print as integers; fractional ones with up to 4 decimals ("epoch_2.5").
  std::string text = fmt::format("{:.4f}", epoch);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return "epoch_" + text;
}

std::vector<SnapshotInfo> list_snapshots(const std::string& job_dir) {
  std::vector<SnapshotInfo> out;
  fs::path dir = fs::path(job_dir) / "snapshots";
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    const std::string suffix = ".solverstate.safetensors";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string stem = name.substr(0, name.size() - suffix.size());
    std::string weights = (dir / (stem + ".safetensors")).string();
    if (!fs::exists(weights)) continue;
    SnapshotInfo info;
    info.weights = weights;
    info.solver_state = entry.path().string();
    // The metadata says where in training the snapshot was taken (header only: weight files
    // can be hundreds of MB).
    SafetensorsFile file = load_safetensors_header(weights);
    auto get = [&](const char* key) -> std::string {
      auto it = file.metadata.find(key);
      return it == file.metadata.end() ? "" : it->second;
    };
    if (get("format") != kWeightsFormat) continue;
    try {
      info.epoch = std::stod(get("epoch"));
      info.iteration = std::stoll(get("iteration"));
      std::string acc = get("val_accuracy");
      if (!acc.empty()) info.val_accuracy = std::stod(acc);
    } catch (const std::exception&) {
      fail_data("{}: metadata epoch/iteration missing or malformed", weights);
    }
    out.push_back(info);
  }
  std::sort(out.begin(), out.end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.iteration < b.iteration; });
  return out;
}

SnapshotInfo select_snapshot(const std::string& job_dir, const std::string& which) {
  std::vector<SnapshotInfo> all = list_snapshots(job_dir);
  if (all.empty()) fail_usage("job {}: no snapshot yet (snapshots/ is empty)", job_dir);
  if (which == "last" || which.empty()) return all.back();
  if (which == "best") {
    const SnapshotInfo* best = nullptr;
    for (const auto& s : all)
      if (s.val_accuracy >= 0 && (!best || s.val_accuracy > best->val_accuracy)) best = &s;
    return best ? *best : all.back();
  }
  std::string available;
  for (const auto& s : all) {
    if (snapshot_stem(s.epoch) == "epoch_" + which) return s;
    available += (available.empty() ? "" : ", ") + snapshot_stem(s.epoch).substr(6);
  }
  fail_usage("job {}: no snapshot at epoch {} (available: {}, last, best)", job_dir, which,
             available);
}

void write_status(const std::string& job_dir, const JobStatus& s) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "format_version" << YAML::Value << 1;
  out << YAML::Key << "state" << YAML::Value << s.state;
  out << YAML::Key << "pid" << YAML::Value << s.pid;
  out << YAML::Key << "host" << YAML::Value << s.host;
  out << YAML::Key << "started" << YAML::Value << s.started;
  out << YAML::Key << "updated" << YAML::Value << s.updated;
  out << YAML::Key << "epoch" << YAML::Value << s.epoch;
  out << YAML::Key << "iteration" << YAML::Value << s.iteration;
  out << YAML::Key << "total_iterations" << YAML::Value << s.total_iterations;
  out << YAML::Key << "best_val_accuracy" << YAML::Value << s.best_val_accuracy;
  out << YAML::Key << "message" << YAML::Value << s.message << YAML::EndMap;
  write_file_atomic(join(job_dir, "status.yaml"), std::string(out.c_str()) + "\n");
}

JobStatus read_status(const std::string& job_dir) {
  std::string path = join(job_dir, "status.yaml");
  LayerConfig v = LayerConfig::section(load_yaml_file(path), path, "");
  JobStatus s;
  s.state = v.get_choice("state", "queued",
                         {"queued", "running", "done", "error", "aborted", "preempted"});
  s.pid = v.get_int("pid", 0);
  s.host = v.get_string("host", "");
  s.started = v.get_string("started", "");
  s.updated = v.get_string("updated", "");
  s.epoch = v.get_float("epoch", 0);
  s.iteration = v.get_int("iteration", 0);
  s.total_iterations = v.get_int("total_iterations", 0);
  s.best_val_accuracy = v.get_float("best_val_accuracy", -1);
  s.message = v.get_string("message", "");
  return s;
}

bool is_job_dir(const std::string& job_dir) {
  return fs::exists(join(job_dir, "job.yaml")) && fs::exists(join(job_dir, "status.yaml"));
}

void require_job_dir(const std::string& job_dir) {
  if (!fs::is_directory(job_dir)) fail_usage("job {}: no such directory", job_dir);
  if (!is_job_dir(job_dir))
    fail_usage("{}: not a job directory (no job.yaml/status.yaml; made by digits-train -o?)",
               job_dir);
}

std::string utc_now_iso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm = {};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace digits
