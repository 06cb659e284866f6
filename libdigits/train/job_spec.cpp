#include "train/job_spec.h"

#include <cmath>
#include <set>

#include "core/error.h"
#include "nn/layer_config.h"

namespace digits {

std::string job_spec_defaults_yaml() {
  return R"(# digits-train job spec: every key with its default (see digits-job(5)).
format_version: 1
dataset: ""               # dataset directory made by digits-dataset create (required)
network: lenet            # name in configs/networks (lenet, alexnet, googlenet) or a YAML path
epochs: 30
batch_size: 0             # 0: the network's own batch_size
batch_accumulation: 1     # update weights every N batches (effective batch = N * batch_size)
snapshot_interval: 1      # epochs between snapshots (fractions allowed)
validation_interval: 1    # epochs between validations (fractions allowed; 0: never)
seed: 1                   # every random choice (weights, shuffling, crops, dropout) derives from it
device: auto              # auto | cpu | gpu | gpu:N
log_interval: 0           # iterations between train-loss records in log.jsonl; 0: about 20 per epoch
classes: 0                # 0: the number of classes in the dataset
pretrained: ""            # safetensors file: initialize parameters whose name and shape match
transforms:
  mean: image             # none | image | pixel: subtract the dataset's mean
  crop: 0                 # crop size; random crops in training, centre crop otherwise; 0: none
  mirror: false           # random horizontal flips in training
solver:
  type: sgd               # sgd | nesterov | adagrad | rmsprop | adadelta | adam
  base_lr: 0.01
  momentum: 0.9           # sgd, nesterov; rho for adadelta; beta1 for adam
  momentum2: 0.999        # adam's beta2
  rms_decay: 0.99         # rmsprop
  delta: 1e-8             # adagrad, rmsprop, adadelta, adam
  weight_decay: 0.0001    # DIGITS: base_lr / 100
  lr_policy:
    type: step            # fixed | step | multistep | exp | inv | poly | sigmoid
    step_size: "33%"      # iterations, or a percentage of the whole run
    gamma: 0.1
)";
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail_usage("--set {}: expected key.sub=value", assignment);
  std::string path = assignment.substr(0, eq);
  std::string value_text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(value_text.empty() ? "\"\"" : value_text);
  } catch (const YAML::Exception& e) {
    fail_usage("--set {}: cannot parse value: {}", assignment, e.msg);
  }
  if (!value.IsScalar() && !value.IsSequence()) value = YAML::Node(value_text);
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  // Walk with explicit copies: yaml-cpp nodes are handles, so assigning through them edits root.
  std::vector<std::string> keys;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    keys.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  YAML::Node node = root;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    if (keys[i].empty()) fail_usage("--set {}: empty key in '{}'", assignment, path);
    YAML::Node child = node[keys[i]];
    if (!child.IsDefined() || child.IsNull() || child.IsScalar()) {
      // lr_policy may be given as a plain name; turn it into a mapping keeping the name.
      YAML::Node map(YAML::NodeType::Map);
      if (child.IsDefined() && child.IsScalar()) map["type"] = child.Scalar();
      node[keys[i]] = map;
      child = node[keys[i]];
    }
    node.reset(child);
  }
  if (keys.back().empty()) fail_usage("--set {}: empty key in '{}'", assignment, path);
  node[keys.back()] = value;
}

namespace {

void check_keys(const YAML::Node& node, const std::string& file, const std::string& prefix,
                const std::vector<std::string>& known) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap())
    fail_usage("{}: {}: expected a mapping of keys", yaml_position(file, node),
               prefix.empty() ? "job spec" : prefix.substr(0, prefix.size() - 1));
  for (const auto& item : node) {
    std::string key = item.first.Scalar();
    bool ok = false;
    for (const auto& k : known) ok = ok || k == key;
    if (!ok) {
      std::string hint = closest_match(key, known);
      fail_usage("{}: unknown key `{}{}`{}", yaml_position(file, item.first), prefix, key,
                 hint.empty() ? "" : fmt::format("; did you mean `{}{}`?", prefix, hint));
    }
  }
}

}  // namespace

JobSpec parse_job_spec(const YAML::Node& root, const std::string& file) {
  JobSpec spec;
  spec.file = file;
  const std::string label = file.empty() ? "job spec" : file;
  if (!root.IsDefined() || root.IsNull()) {
    spec.solver = YAML::Node(YAML::NodeType::Map);
    return spec;
  }
  check_keys(root, label, "",
             {"format_version", "dataset", "network", "epochs", "batch_size",
              "batch_accumulation", "snapshot_interval", "validation_interval", "seed",
              "device", "log_interval", "classes", "pretrained", "transforms", "solver"});
  LayerConfig top = LayerConfig::section(root, label, "");
  auto str = [&](const char* key, const std::string& fallback) {
    return top.get_string(key, fallback);
  };
  auto integer = [&](const char* key, int64_t fallback, int64_t minimum) {
    return top.get_int_at_least(key, fallback, minimum);
  };
  auto number = [&](const char* key, double fallback) {
    double value = top.get_float(key, fallback);
    if (value < 0) top.fail_key(key, fmt::format("must be >= 0, got {}", value));
    return value;
  };
  int64_t version = integer("format_version", 1, 1);
  if (version != 1)
    fail_usage("{}: format_version {} is not supported (this digits reads version 1)", label,
               version);
  spec.dataset = str("dataset", spec.dataset);
  spec.network = str("network", spec.network);
  spec.epochs = integer("epochs", spec.epochs, 1);
  spec.batch_size = integer("batch_size", spec.batch_size, 0);
  spec.batch_accumulation = integer("batch_accumulation", spec.batch_accumulation, 1);
  spec.snapshot_interval = number("snapshot_interval", spec.snapshot_interval);
  spec.validation_interval = number("validation_interval", spec.validation_interval);
  spec.seed = static_cast<uint64_t>(integer("seed", static_cast<int64_t>(spec.seed), 0));
  spec.device = str("device", spec.device);
  spec.log_interval = integer("log_interval", spec.log_interval, 0);
  spec.classes = integer("classes", spec.classes, 0);
  spec.pretrained = str("pretrained", spec.pretrained);

  YAML::Node transforms = root["transforms"];
  check_keys(transforms, label, "transforms.", {"mean", "crop", "mirror"});
  if (transforms.IsDefined() && transforms.IsMap()) {
    LayerConfig t = LayerConfig::section(transforms, label, "transforms.");
    spec.transforms.mean = t.get_choice("mean", "image", {"none", "image", "pixel"});
    spec.transforms.crop = t.get_int_at_least("crop", 0, 0);
    spec.transforms.mirror = t.get_bool("mirror", false);
  }
  // The solver section itself, not a clone: YAML::Clone drops the positions that solver errors
  // cite (every one would read FILE:1:1).
  if (root["solver"].IsDefined())
    spec.solver.reset(root["solver"]);
  else
    spec.solver = YAML::Node(YAML::NodeType::Map);
  return spec;
}

std::string job_spec_to_yaml(const JobSpec& spec, const YAML::Node& resolved_solver) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "format_version" << YAML::Value << 1;
  out << YAML::Key << "dataset" << YAML::Value << spec.dataset;
  out << YAML::Key << "network" << YAML::Value << spec.network;
  out << YAML::Key << "epochs" << YAML::Value << spec.epochs;
  out << YAML::Key << "batch_size" << YAML::Value << spec.batch_size;
  out << YAML::Key << "batch_accumulation" << YAML::Value << spec.batch_accumulation;
  out << YAML::Key << "snapshot_interval" << YAML::Value << fmt::format("{}", spec.snapshot_interval);
  out << YAML::Key << "validation_interval" << YAML::Value << fmt::format("{}", spec.validation_interval);
  out << YAML::Key << "seed" << YAML::Value << spec.seed;
  out << YAML::Key << "device" << YAML::Value << spec.device;
  out << YAML::Key << "log_interval" << YAML::Value << spec.log_interval;
  out << YAML::Key << "classes" << YAML::Value << spec.classes;
  out << YAML::Key << "pretrained" << YAML::Value << spec.pretrained;
  out << YAML::Key << "transforms" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "mean" << YAML::Value << spec.transforms.mean;
  out << YAML::Key << "crop" << YAML::Value << spec.transforms.crop;
  out << YAML::Key << "mirror" << YAML::Value << spec.transforms.mirror;
  out << YAML::EndMap;
  out << YAML::Key << "solver" << YAML::Value << resolved_solver;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace digits
