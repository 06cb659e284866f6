// The training job spec (DESIGN.md sections 4 and 5): defaults < file < --set overrides.
// Every key has a documented default (man/man5/digits-job.5); unknown keys are usage errors
// with a "did you mean" hint and the file position.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace digits {

struct TransformSpec {
  std::string mean = "image";  // none | image | pixel (subtract the dataset's mean)
  int64_t crop = 0;            // 0: no crop; else random crop (train), centre crop (val, infer)
  bool mirror = false;         // random horizontal flips in training
};

struct JobSpec {
  std::string file;            // the spec file it came from ("" for flags only)
  std::string dataset;         // dataset directory (digits-dataset create -o DIR)
  std::string network = "lenet";  // a name in configs/networks or a path to a network YAML
  int64_t epochs = 30;
  int64_t batch_size = 0;      // 0: the network's batch_size
  int64_t batch_accumulation = 1;
  double snapshot_interval = 1.0;    // epochs; fractions allowed
  double validation_interval = 1.0;  // epochs; fractions allowed; 0 disables validation
  uint64_t seed = 1;
  std::string device = "auto";       // auto | cpu | gpu | gpu:N (DIGITS_DEVICE overrides auto)
  int64_t log_interval = 0;          // iterations between train-loss records; 0: ~20 per epoch
  int64_t classes = 0;               // 0: from the dataset's labels
  std::string pretrained;            // safetensors to initialize matching parameters from
  TransformSpec transforms;
  YAML::Node solver;                 // parsed with parse_solver_config once max_iter is known
};

// The spec with every key at its default, as YAML text with comments (--print-defaults).
std::string job_spec_defaults_yaml();

// Applies "key.sub=value" to root (a mapping), creating mappings along the path; the value is
// parsed as a YAML scalar or flow collection ("[1, 2]"). Usage error on a malformed assignment.
void apply_override(YAML::Node& root, const std::string& assignment);

// Reads the spec from root (file contents with overrides applied). `file` names it in errors.
JobSpec parse_job_spec(const YAML::Node& root, const std::string& file);

// The resolved spec as YAML (job.yaml in the job dir): re-running it reproduces the job.
std::string job_spec_to_yaml(const JobSpec& spec, const YAML::Node& resolved_solver);

}  // namespace digits
