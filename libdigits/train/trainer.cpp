#include "train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "backend/backend.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/signals.h"
#include "core/yaml_safe.h"
#include "data/batch_loader.h"
#include "data/dataset_manifest.h"
#include "data/transform.h"
#include "nn/net.h"
#include "nn/net_spec.h"
#include "train/job_dir.h"
#include "train/job_spec.h"
#include "train/safetensors.h"
#include "train/solver.h"
#include "train/solver_state.h"
#include "gpu/gpu_monitor.h"
#include "train/training_log.h"

namespace digits {

namespace fs = std::filesystem;

std::string dataset_resize_mode(const std::string& dataset_dir);

namespace {

std::string join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

std::string hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// Everything a run needs, resolved from the spec and the dataset.
struct Plan {
  JobSpec spec;
  YAML::Node root;          // the spec as given (for job.yaml)
  DatasetView dataset;
  NetSpec net;
  std::string network_path;
  int64_t batch_size = 0, val_batch_size = 0;
  int64_t train_count = 0, iterations_per_epoch = 0, total_iterations = 0;
  SolverConfig solver;
  YAML::Node solver_yaml;   // resolved, for job.yaml
};

// Numbers as their shortest round-trip text ("0.9", not "0.90000000000000002").
YAML::Node number(double value) { return YAML::Node(fmt::format("{}", value)); }

YAML::Node solver_to_yaml(const SolverConfig& c) {
  YAML::Node node(YAML::NodeType::Map);
  node["type"] = solver_type_name(c.type);
  node["base_lr"] = number(c.base_lr);
  node["momentum"] = number(c.momentum);
  node["momentum2"] = number(c.momentum2);
  node["rms_decay"] = number(c.rms_decay);
  node["delta"] = number(c.delta);
  node["weight_decay"] = number(c.weight_decay);
  YAML::Node policy(YAML::NodeType::Map);
  policy["type"] = lr_policy_name(c.lr_policy.type);
  policy["gamma"] = number(c.lr_policy.gamma);
  policy["power"] = number(c.lr_policy.power);
  policy["step_size"] = c.lr_policy.step_size;
  YAML::Node steps(YAML::NodeType::Sequence);
  steps.SetStyle(YAML::EmitterStyle::Flow);
  for (int64_t s : c.lr_policy.stepvalues) steps.push_back(s);
  policy["stepvalues"] = steps;
  node["lr_policy"] = policy;
  return node;
}

// network_file: the network to build instead of the spec's `network` (a resumed job builds the
// one it was trained with, JOBDIR/network.yaml).
Plan make_plan(const YAML::Node& root, const std::string& file, const std::string& network_file = "") {
  Plan plan;
  plan.root = root;
  plan.spec = parse_job_spec(root, file);
  JobSpec& spec = plan.spec;
  if (spec.dataset.empty())
    fail_usage("no dataset: give --dataset DIR or `dataset:` in the job spec");
  // A dataset damaged since its creation is refused before LMDB opens it (exit 3, no crash).
  check_dataset_data(spec.dataset);
  plan.dataset = open_dataset_view(spec.dataset);
  plan.network_path = network_file.empty() ? find_network(spec.network) : network_file;
  NetSpecOptions net_options;
  net_options.classes = spec.classes > 0 ? spec.classes
                                         : static_cast<int64_t>(plan.dataset.labels.size());
  plan.net = load_net_spec(plan.network_path, net_options);

  // The network's data input must match what the loader produces.
  const DatasetView& ds = plan.dataset;
  int64_t out_h = spec.transforms.crop > 0 ? spec.transforms.crop : ds.height;
  int64_t out_w = spec.transforms.crop > 0 ? spec.transforms.crop : ds.width;
  Shape produced = {ds.channels, out_h, out_w};
  bool found_data = false;
  for (const auto& [name, shape] : plan.net.inputs) {
    if (name != "data") continue;
    found_data = true;
    if (shape != produced)
      fail_usage("network {} expects data of shape {}, but dataset {} gives {} (records {}x{}x{}{}); "
                 "use a dataset of the right size or set transforms.crop",
                 plan.network_path, shape_string(shape), ds.dir, shape_string(produced),
                 ds.channels, ds.height, ds.width,
                 spec.transforms.crop > 0 ? fmt::format(", crop {}", spec.transforms.crop) : "");
  }
  if (!found_data) fail_usage("network {}: no `data` input to feed images to", plan.network_path);

  plan.batch_size = spec.batch_size > 0 ? spec.batch_size
                                        : (plan.net.batch_size > 0 ? plan.net.batch_size : 64);
  plan.val_batch_size = plan.net.val_batch_size > 0 ? plan.net.val_batch_size : plan.batch_size;
  {
    LmdbReader reader(ds.db_path("train"));
    plan.train_count = static_cast<int64_t>(reader.count());
  }
  int64_t per_update = plan.batch_size * spec.batch_accumulation;
  plan.iterations_per_epoch = (plan.train_count + per_update - 1) / per_update;
  plan.total_iterations = plan.iterations_per_epoch * spec.epochs;
  plan.solver = parse_solver_config(spec.solver, file.empty() ? "job spec" : file,
                                    plan.total_iterations);
  plan.solver_yaml = solver_to_yaml(plan.solver);
  return plan;
}

// The paths a new job's spec names (dataset, pretrained weights, a network file) made absolute,
// so that its job.yaml means the same from any working directory: `--resume JOBDIR` run from
// elsewhere (a batch script, cron) finds the dataset again.
void make_spec_paths_absolute(YAML::Node& root) {
  for (const char* key : {"dataset", "pretrained", "network"}) {
    YAML::Node value = root[key];
    if (!value.IsDefined() || !value.IsScalar() || value.Scalar().empty()) continue;
    const std::string text = value.Scalar();
    // A network is a name in the search path unless it names a file.
    if (std::string(key) == "network" && !fs::is_regular_file(text)) continue;
    if (fs::path(text).is_absolute()) continue;
    root[key] = fs::absolute(text).lexically_normal().string();
  }
}

YAML::Node load_spec_root(const TrainRequest& request) {
  YAML::Node root = request.spec_file.empty() ? YAML::Node(YAML::NodeType::Map)
                                              : load_yaml_file(request.spec_file);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) fail_usage("{}: expected a mapping of job spec keys", request.spec_file);
  if (!request.dataset.empty()) root["dataset"] = request.dataset;
  if (!request.network.empty()) root["network"] = request.network;
  if (!request.device.empty()) root["device"] = request.device;
  for (const auto& assignment : request.sets) apply_override(root, assignment);
  make_spec_paths_absolute(root);
  return root;
}

// network.yaml in the job dir: the spec as trained, with `classes` fixed to the job's value.
std::string network_yaml_for_job(const Plan& plan) {
  YAML::Node node = YAML::Load(plan.net.text);
  if (plan.net.uses_classes || node["classes"]) node["classes"] = plan.net.classes;
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

void create_job_dir(const Plan& plan, const TrainRequest& request, const OutputLock& lock) {
  const std::string& dir = request.job_dir;
  if (fs::exists(dir) && !request.force)
    fail_usage("{} already exists: use --resume to continue it, --resume auto to continue or "
               "start, or --force to replace it", dir);
  // Leftovers of runs killed while they made or replaced this job.
  lock.remove_leftovers({lock.output_name() + ".tmp-", lock.output_name() + ".old-"});
  std::error_code ec;
  std::string tmp = fmt::format("{}.tmp-{}", dir, getpid());
  fs::remove_all(tmp);
  fs::create_directories(fs::path(tmp) / "snapshots", ec);
  if (ec) fail_runtime("cannot create job dir {}: {}", tmp, ec.message());
  write_file_atomic(join(tmp, "job.yaml"), job_spec_to_yaml(plan.spec, plan.solver_yaml));
  write_file_atomic(join(tmp, "network.yaml"), network_yaml_for_job(plan));
  std::string labels;
  for (const auto& l : plan.dataset.labels) labels += l + "\n";
  write_file_atomic(join(tmp, "labels.txt"), labels);
  std::string mean_src = join(plan.dataset.dir, "mean.binaryproto");
  if (fs::exists(mean_src)) write_file_atomic(join(tmp, "mean.binaryproto"), read_file(mean_src));
  Preprocess pre;
  pre.channels = plan.dataset.channels;
  pre.height = plan.dataset.height;
  pre.width = plan.dataset.width;
  pre.resize_mode = dataset_resize_mode(plan.dataset.dir);
  pre.crop = plan.spec.transforms.crop;
  pre.mean = plan.spec.transforms.mean;
  pre.data_scale = plan.net.data_scale;
  write_preprocess(tmp, pre);
  JobStatus status;
  status.state = "queued";
  status.started = status.updated = utc_now_iso8601();
  status.total_iterations = plan.total_iterations;
  write_status(tmp, status);
  // Publish: the job dir appears complete or not at all; a replaced one goes only after.
  std::string old;
  if (fs::exists(dir)) {
    old = fmt::format("{}.old-{}", dir, getpid());
    fs::rename(dir, old);
  }
  fs::rename(tmp, dir);
  if (!old.empty()) fs::remove_all(old);
}

bool all_finite(Net& net) {
  for (auto& ref : net.params()) {
    double s = net.backend().sum_squares(ref.param->value.count(), ref.param->value.data());
    if (!std::isfinite(s)) return false;
  }
  return true;
}

struct Validation {
  double loss = 0, top1 = 0, top5 = 0;
  std::vector<std::pair<std::string, double>> outputs;  // the network's own accuracy tops
  int64_t count = 0;
};

}  // namespace

namespace {

class Trainer {
 public:
  Trainer(Plan plan, std::string job_dir, Backend& backend)
      : plan_(std::move(plan)), job_dir_(std::move(job_dir)), backend_(&backend) {}

  int run(bool resuming, int64_t stop_after);

 private:
  void feed(Net& net, const Batch& batch);
  void prepare_device_transform();
  Validation validate();
  void snapshot(int64_t iteration, double val_accuracy);
  // Epochs as DIGITS counts them: whole epochs end exactly at multiples of the iterations per
  // epoch (the last batch of an epoch wraps into the next epoch's samples).
  double epoch_at(int64_t iteration) const {
    return static_cast<double>(iteration) / static_cast<double>(plan_.iterations_per_epoch);
  }
  void set_status(const std::string& state, int64_t iteration, const std::string& message);
  void log_records(int64_t iteration, const Batch& batch);

  Plan plan_;
  std::string job_dir_;
  Backend* backend_;
  std::unique_ptr<Net> train_net_, val_net_;
  std::unique_ptr<Solver> solver_;
  std::unique_ptr<BatchLoader> train_loader_, val_loader_;
  std::unique_ptr<TrainingLog> log_;
  JobStatus status_;
  std::string scores_blob_;  // the val net's class scores (bottom of its softmax loss)
  std::unique_ptr<TrainingGpuMonitor> gpu_;  // GPU readings for log.jsonl, when on a GPU
  // On a GPU the input transform (crop, mirror, mean, scale) runs there: the loaders hand over
  // raw records and feed() passes them to Backend::upload_transform with this description,
  // whose means live on the device for the whole run. Unused on the CPU, where the loaders'
  // threads transform.
  bool device_transform_ = false;
  InputBatchTransform input_transform_;
  Tensor mean_image_, mean_pixel_;
  // Test hook, for the resume tests only: DIGITS_TEST_RECORD_LOG=FILE appends "ITERATION KEY"
  // for every training record as it is consumed, so a test can compare the data order of an
  // interrupted and resumed job with an uninterrupted one. Not a user feature.
  std::string record_log_ = std::getenv("DIGITS_TEST_RECORD_LOG") ? std::getenv("DIGITS_TEST_RECORD_LOG") : "";
};

BatchLoaderOptions loader_options(const Plan& plan, const std::string& split, bool train,
                                  bool device_transform) {
  BatchLoaderOptions o;
  o.db_dir = plan.dataset.db_path(split);
  o.batch_size = train ? plan.batch_size : plan.val_batch_size;
  o.channels = plan.dataset.channels;
  o.height = plan.dataset.height;
  o.width = plan.dataset.width;
  o.crop = plan.spec.transforms.crop;
  o.random_crop = train;
  o.mirror = train && plan.spec.transforms.mirror;
  o.shuffle = train;
  o.seed = plan.spec.seed;
  o.mean_mode = plan.spec.transforms.mean;
  o.mean = plan.dataset.mean;
  o.scale = static_cast<float>(plan.net.data_scale);
  o.device_transform = device_transform;
  return o;
}

void Trainer::feed(Net& net, const Batch& batch) {
  // The only host-to-device traffic of an iteration: on a GPU, staged in pinned memory and
  // copied on the backend's stream, overlapping whatever the host does next; there the records
  // go as bytes and the backend transforms them (prepare_device_transform).
  Tensor& data = net.blob("data");
  if (device_transform_) {
    InputBatchTransform t = input_transform_;
    t.batch = data.dim(0);  // a short last validation batch has reshaped the net
    net.backend().upload_transform(t, batch.pixels.data(), batch.crop_y.data(),
                                   batch.crop_x.data(), batch.mirror.data(), data.data());
  } else {
    net.backend().upload(data.count(), batch.data.data(), data.data());
  }
  if (net.has_blob("label")) {
    Tensor& label = net.blob("label");
    net.backend().upload(label.count(), batch.labels.data(), label.data());
  }
}

// The same SampleTransform the loaders build (so the same per-channel mean floats), with its
// means copied to the device once.
void Trainer::prepare_device_transform() {
  const DatasetView& ds = plan_.dataset;
  const SampleTransform sample = make_sample_transform(
      ds.channels, ds.height, ds.width, plan_.spec.transforms.crop, plan_.spec.transforms.mean,
      ds.mean, static_cast<float>(plan_.net.data_scale));
  input_transform_ = input_batch_transform(sample, 0);  // feed() sets the batch
  if (sample.mean_image) {
    mean_image_ = Tensor(Shape{ds.channels, ds.height, ds.width}, backend_->device());
    mean_image_.set_data(ds.mean);
    input_transform_.mean_image = mean_image_.data();
  } else if (plan_.spec.transforms.mean == "pixel") {
    mean_pixel_ = Tensor(Shape{ds.channels}, backend_->device());
    mean_pixel_.set_data(sample.mean_pixel);
    input_transform_.mean_pixel = mean_pixel_.data();
  }
  device_transform_ = true;
}

void Trainer::set_status(const std::string& state, int64_t iteration, const std::string& message) {
  status_.state = state;
  status_.pid = getpid();
  status_.host = hostname();
  status_.updated = utc_now_iso8601();
  status_.iteration = iteration;
  status_.epoch = epoch_at(iteration);
  status_.total_iterations = plan_.total_iterations;
  status_.message = message;
  write_status(job_dir_, status_);
}

void Trainer::log_records(int64_t iteration, const Batch& batch) {
  std::string lines;
  for (int64_t record : batch.records) lines += fmt::format("{} {}\n", iteration, train_loader_->key(record));
  lines.pop_back();
  append_line(record_log_, lines);
}

Validation Trainer::validate() {
  Validation v;
  val_net_->copy_params_from(*train_net_);
  val_loader_->start(0, true);
  std::map<std::string, double> sums;
  while (true) {
    const Batch& batch = val_loader_->next();
    if (batch.count == 0) break;
    if (batch.count != val_net_->batch_size()) val_net_->reshape_batch(batch.count);
    feed(*val_net_, batch);
    double loss = val_net_->forward(0);
    v.loss += loss * batch.count;
    for (const auto& out : val_net_->outputs())
      if (!out.is_loss) sums[out.name] += out.value * batch.count;
    if (!scores_blob_.empty()) {
      std::vector<float> scores = val_net_->blob(scores_blob_).host_data();
      int64_t classes = static_cast<int64_t>(scores.size()) / batch.count;
      for (int64_t i = 0; i < batch.count; ++i) {
        const float* row = scores.data() + i * classes;
        int64_t label = static_cast<int64_t>(batch.labels[i]);
        int64_t above = 0;  // classes scoring strictly higher than the true one
        for (int64_t c = 0; c < classes; ++c) above += row[c] > row[label];
        v.top1 += above < 1;
        v.top5 += above < 5;
      }
    }
    v.count += batch.count;
    if (batch.count < plan_.val_batch_size) break;
  }
  val_loader_->stop();
  if (val_net_->batch_size() != plan_.val_batch_size) val_net_->reshape_batch(plan_.val_batch_size);
  if (v.count > 0) {
    v.loss /= v.count;
    v.top1 /= v.count;
    v.top5 /= v.count;
    for (auto& [name, total] : sums) v.outputs.emplace_back(name, total / v.count);
  }
  return v;
}

void Trainer::snapshot(int64_t iteration, double val_accuracy) {
  // Never replace a good snapshot by non-finite weights (DESIGN.md 5b).
  if (!all_finite(*train_net_))
    fail_runtime("iteration {}: weights are not finite; not writing a snapshot", iteration);
  double epoch = epoch_at(iteration);
  std::string stem = join(join(job_dir_, "snapshots"), snapshot_stem(epoch));
  std::vector<std::pair<std::string, const Tensor*>> tensors;
  for (auto& ref : train_net_->params()) tensors.emplace_back(ref.name, &ref.param->value);
  std::map<std::string, std::string> meta = {
      {"format", kWeightsFormat}, {"format_version", "1"},
      {"network", plan_.net.name}, {"epoch", fmt::format("{}", epoch)},
      {"iteration", std::to_string(iteration)}};
  if (val_accuracy >= 0) meta["val_accuracy"] = fmt::format("{}", val_accuracy);
  save_safetensors(stem + ".safetensors", tensors, meta);
  // The solver state goes last: a snapshot counts as complete only when both files exist.
  save_solver_state(stem + ".solverstate.safetensors", *solver_,
                    {{"data_cursor", std::to_string(iteration * plan_.spec.batch_accumulation)}});
  log_->note(fmt::format("snapshot {} (epoch {:.4g}, iteration {})", snapshot_stem(epoch) + ".safetensors",
                         epoch, iteration));
}

int Trainer::run(bool resuming, int64_t stop_after) {
  const JobSpec& spec = plan_.spec;
  log_ = std::make_unique<TrainingLog>(job_dir_);
  train_net_ = std::make_unique<Net>(plan_.net, Phase::train, plan_.batch_size, *backend_, spec.seed);
  val_net_ = std::make_unique<Net>(plan_.net, Phase::val, plan_.val_batch_size, *backend_, spec.seed);
  if (backend_->device() == Device::cuda)  // after the nets: the backend has chosen its device
    gpu_ = std::make_unique<TrainingGpuMonitor>(
        [this](const std::string& why) { log_->note("GPU readings are not logged: " + why); });
  for (size_t i = 0; i < val_net_->layers().size(); ++i)
    if (val_net_->layers()[i]->type() == "SoftmaxWithLoss")
      scores_blob_ = val_net_->layer_bottom_names(i)[0];

  std::vector<SolverParam> params;
  for (auto& ref : train_net_->params())
    params.push_back({ref.name, &ref.param->value, ref.param->lr_mult, ref.param->decay_mult,
                      ref.param->learnable});
  solver_ = std::make_unique<Solver>(plan_.solver, params, *backend_);

  int64_t start = 0;
  if (resuming) {
    // Temporary files of snapshot writes cut short by a kill (SIGKILL, power loss): never renamed
    // into place, so never complete; this job is the only writer of its directory.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(join(job_dir_, "snapshots"), ec)) {
      std::string name = entry.path().filename().string();
      if (name[0] == '.' && name.find(".tmp-") != std::string::npos) fs::remove(entry.path(), ec);
    }
    std::vector<SnapshotInfo> snapshots = list_snapshots(job_dir_);
    if (!snapshots.empty()) {
      const SnapshotInfo& last = snapshots.back();
      SafetensorsFile weights = load_safetensors(last.weights);
      for (auto& ref : train_net_->params()) {
        const SafetensorsTensor& t = weights.tensor(ref.name);
        if (t.shape != ref.param->value.shape())
          fail_data("{}: {} has shape {}, the network needs {}", last.weights, ref.name,
                    shape_string(t.shape), ref.param->value.shape_string());
        ref.param->value.set_data(t.data);
      }
      load_solver_state(last.solver_state, *solver_);
      start = solver_->iteration();
      log_->note(fmt::format("resuming from {} at iteration {}", last.weights, start));
    } else {
      log_->note("no snapshot yet: starting from the beginning");
    }
  } else if (!spec.pretrained.empty()) {
    SafetensorsFile weights = load_safetensors(spec.pretrained);
    int loaded = 0;
    std::set<std::string> wanted;
    for (auto& ref : train_net_->params()) {
      wanted.insert(ref.name);
      if (!weights.contains(ref.name)) {
        log_->note(fmt::format("pretrained: {} not in {}: keeping its initial values", ref.name,
                               spec.pretrained));
        continue;
      }
      const SafetensorsTensor& t = weights.tensors.at(ref.name);
      if (t.shape != ref.param->value.shape()) {
        log_->note(fmt::format("pretrained: {} has shape {} there, {} here: skipped", ref.name,
                               shape_string(t.shape), ref.param->value.shape_string()));
        continue;
      }
      ref.param->value.set_data(t.data);
      ++loaded;
    }
    log_->note(fmt::format("pretrained: loaded {} parameters from {}", loaded, spec.pretrained));
    // Tensors no parameter asked for: a layer renamed on one side loads nothing, silently in Caffe.
    std::vector<std::string> unused;
    for (const std::string& name : weights.names)
      if (!wanted.count(name)) unused.push_back(name);
    if (!unused.empty()) {
      const size_t shown = std::min<size_t>(unused.size(), 8);
      log_->note(fmt::format("pretrained: {} tensor(s) of {} match no parameter of this network "
                             "(a renamed layer?): {}{}", unused.size(), spec.pretrained,
                             fmt::join(unused.begin(), unused.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
                             unused.size() > shown ? ", ..." : ""));
    }
  }

  if (backend_->device() == Device::cuda) prepare_device_transform();
  train_loader_ = std::make_unique<BatchLoader>(
      loader_options(plan_, "train", true, device_transform_));
  bool validating = spec.validation_interval > 0 && plan_.dataset.has_split("val");
  if (validating)
    val_loader_ = std::make_unique<BatchLoader>(
        loader_options(plan_, "val", false, device_transform_));

  int64_t per_epoch = plan_.iterations_per_epoch;
  auto every = [&](double epochs) {
    return std::max<int64_t>(1, static_cast<int64_t>(std::llround(epochs * per_epoch)));
  };
  int64_t val_every = validating ? every(spec.validation_interval) : 0;
  int64_t snap_every = spec.snapshot_interval > 0 ? every(spec.snapshot_interval) : 0;
  int64_t log_every = spec.log_interval > 0 ? spec.log_interval : std::max<int64_t>(1, per_epoch / 20);
  if (status_.best_val_accuracy < 0 && resuming) status_.best_val_accuracy = read_status(job_dir_).best_val_accuracy;
  status_.started = resuming ? read_status(job_dir_).started : utc_now_iso8601();

  install_stop_handlers();
  log_->note(fmt::format("training {} on {} ({} records, batch {} x {}), {} iterations, device {}",
                         plan_.net.name, plan_.dataset.dir, plan_.train_count, plan_.batch_size,
                         spec.batch_accumulation, plan_.total_iterations, backend_->name()));
  set_status("running", start, "training");

  int acc = static_cast<int>(spec.batch_accumulation);
  train_loader_->start(start * acc);
  auto window_start = std::chrono::steady_clock::now();
  double window_wait = train_loader_->waited_seconds();
  int64_t window_images = 0;
  double last_val_accuracy = -1;
  int64_t last_snapshot = start;
  for (int64_t it = start; it < plan_.total_iterations; ++it) {
    double loss = 0;
    for (int a = 0; a < acc; ++a) {
      const Batch& batch = train_loader_->next();
      if (!record_log_.empty()) log_records(it, batch);
      feed(*train_net_, batch);
      loss += train_net_->forward(static_cast<uint64_t>(it) * acc + a);
      train_net_->backward();
    }
    loss /= acc;
    window_images += plan_.batch_size * acc;
    auto stop_diverged = [&](const std::string& what) {
      std::string message = fmt::format("{}: training diverged (lower solver.base_lr?); the last "
                                        "good snapshot is kept", what);
      set_status("error", it, message);
      log_->note(message);
      fail_runtime("{}", message);
    };
    if (!std::isfinite(loss)) stop_diverged(fmt::format("loss is {} at iteration {}", loss, it));
    double lr = learning_rate(plan_.solver.lr_policy, plan_.solver.base_lr, it, plan_.total_iterations);
    solver_->step(it, acc);
    // A step can overflow the weights while the loss stays finite (a softmax loss saturates at
    // -log(FLT_MIN)): checked every iteration, so a diverged run stops at once, not at its next
    // snapshot. One pass over the weights: small beside forward and backward.
    if (!all_finite(*train_net_)) stop_diverged(fmt::format("weights are not finite after iteration {}", it));
    int64_t done = it + 1;
    double epoch = epoch_at(done);

    if (done % log_every == 0 || done == plan_.total_iterations) {
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      double waited = train_loader_->waited_seconds() - window_wait;
      log_->train(epoch, done, plan_.total_iterations, loss, lr, window_images / std::max(seconds, 1e-9),
                  seconds > 0 ? waited / seconds : 0, gpu_ ? gpu_->sample() : nullptr);
      window_start = std::chrono::steady_clock::now();
      window_wait = train_loader_->waited_seconds();
      window_images = 0;
      status_.epoch = epoch;
      set_status("running", done, "training");
    }
    bool validated_now = false;
    if (val_every > 0 && (done % val_every == 0 || done == plan_.total_iterations)) {
      Validation v = validate();
      last_val_accuracy = scores_blob_.empty() ? -1 : v.top1;
      if (last_val_accuracy > status_.best_val_accuracy) status_.best_val_accuracy = last_val_accuracy;
      log_->val(epoch, done, v.loss, scores_blob_.empty() ? -1 : v.top1,
                scores_blob_.empty() ? -1 : v.top5, v.outputs);
      validated_now = true;
    }
    // The last iteration always snapshots (snapshot_interval 0 means only then): a finished job
    // always has the weights it ended with.
    if ((snap_every > 0 && done % snap_every == 0) || done == plan_.total_iterations) {
      snapshot(done, validated_now ? last_val_accuracy : -1);
      last_snapshot = done;
    }
    if (stop_after > 0 && done - start >= stop_after && done < plan_.total_iterations) {
      if (last_snapshot != done) snapshot(done, -1);
      std::string message = fmt::format("stopped after {} iterations (--stop-after): resumable",
                                        done - start);
      set_status("aborted", done, message);
      log_->note(message);
      train_loader_->stop();
      return 0;
    }
    if (int sig = stop_signal()) {
      if (last_snapshot != done) snapshot(done, -1);
      bool preempt = sig == SIGUSR1;
      std::string message = preempt ? "preempted (SIGUSR1): run `digits-train --resume` to continue"
                                    : fmt::format("stopped by signal {}: resumable", sig);
      set_status(preempt ? "preempted" : "aborted", done, message);
      log_->note(message);
      train_loader_->stop();
      return preempt ? static_cast<int>(ExitCode::preempted) : 128 + sig;
    }
  }
  train_loader_->stop();
  set_status("done", plan_.total_iterations, "finished");
  log_->note(fmt::format("done: {} iterations{}", plan_.total_iterations,
                         status_.best_val_accuracy >= 0
                             ? fmt::format(", best validation accuracy {:.4f}", status_.best_val_accuracy)
                             : ""));
  return 0;
}

}  // namespace

int run_training(const TrainRequest& given) {
  if (given.job_dir.empty()) fail_usage("no job directory: give -o JOBDIR");
  // "jobs/lenet/" is "jobs/lenet": the temporary and old names beside it are built from it.
  TrainRequest request = given;
  request.job_dir = fs::path(given.job_dir).lexically_normal().string();
  while (request.job_dir.size() > 1 && request.job_dir.back() == '/') request.job_dir.pop_back();
  // From the start, so that SIGINT/SIGTERM/SIGUSR1 during start-up (reading the dataset,
  // building the network) also end in a resumable job with the documented exit status: the
  // training loop acts on the flag after its first iteration.
  if (!request.dry_run) install_stop_handlers();
  // One digits-train per job at a time: a second run (an overlapping cron or Slurm start, a
  // --resume while the job trains) would train alongside the first on the same files. Taken
  // before the job dir is looked at, so that deciding to create or resume it is one step.
  std::optional<OutputLock> lock;
  if (!request.dry_run) lock.emplace(request.job_dir, "digits-train", "running this job");
  bool resuming = false;
  YAML::Node root;
  std::string spec_label = request.spec_file;
  if (request.resume == "yes" || (request.resume == "auto" && is_job_dir(request.job_dir))) {
    require_job_dir(request.job_dir);
    // `--resume auto` keeps one command line for every run of a Slurm or cron job: the spec and
    // flags that started the job come again each time, and the job's own job.yaml wins.
    const bool spec_given = !request.sets.empty() || !request.spec_file.empty() ||
                            !request.dataset.empty() || !request.network.empty();
    if (request.resume == "yes" && spec_given)
      fail_usage("--resume continues {} exactly as specified in its job.yaml; it takes no spec, "
                 "--dataset, --network or --set", request.job_dir);
    if (request.resume == "auto" && spec_given)
      std::fprintf(stderr, "digits-train: %s exists: it continues as its job.yaml says (the spec "
                   "and flags given only start a new job)\n", request.job_dir.c_str());
    JobStatus status = read_status(request.job_dir);
    if (status.state == "done") {
      std::fprintf(stderr, "digits-train: job %s is already done\n", request.job_dir.c_str());
      return 0;
    }
    spec_label = join(request.job_dir, "job.yaml");
    root = load_yaml_file(spec_label);
    if (!request.device.empty()) root["device"] = request.device;
    resuming = true;
  } else {
    root = load_spec_root(request);
  }
  Plan plan = make_plan(root, spec_label, resuming ? join(request.job_dir, "network.yaml") : "");
  // Checked before the job dir is made: a mistyped path is a spec error, not a failed job.
  if (!resuming && !plan.spec.pretrained.empty() && !fs::is_regular_file(plan.spec.pretrained))
    fail_usage("pretrained: {}: no such file", plan.spec.pretrained);
  if (request.dry_run) {
    parse_device(plan.spec.device);  // its syntax; whether a GPU is there is the real run's business
    Net net(plan.net, Phase::train, plan.batch_size, cpu_backend(), plan.spec.seed);
    int64_t activation_floats = 0;
    for (size_t i = 0; i < net.layers().size(); ++i)
      for (const auto& name : net.layer_top_names(i))
        if (net.has_blob(name)) activation_floats += net.blob(name).count();
    int64_t params = net.num_learnable_parameters();
    fs::path parent = fs::absolute(request.job_dir).parent_path();
    if (!fs::is_directory(parent) || access(parent.c_str(), W_OK) != 0)
      fail_usage("cannot create {}: {} is not a writable directory", request.job_dir, parent.string());
    std::printf("%s", job_spec_to_yaml(plan.spec, plan.solver_yaml).c_str());
    std::printf("# network: %s (%s)\n# learnable parameters: %lld\n", plan.net.name.c_str(),
                plan.network_path.c_str(), static_cast<long long>(params));
    std::printf("# training records: %lld, iterations: %lld (%lld per epoch)\n",
                static_cast<long long>(plan.train_count), static_cast<long long>(plan.total_iterations),
                static_cast<long long>(plan.iterations_per_epoch));
    // Activations and their gradients, weights, their gradients and up to two history buffers.
    double mib = (2.0 * activation_floats + 4.0 * params) * 4 / (1 << 20);
    std::printf("# estimated memory per batch of %lld: %.2f MiB\n",
                static_cast<long long>(plan.batch_size), mib);
    return 0;
  }
  // The device before the job dir: a mistyped device or a missing GPU leaves no job behind.
  Backend& backend = backend_for(plan.spec.device);
  if (!resuming) create_job_dir(plan, request, *lock);
  Trainer trainer(std::move(plan), request.job_dir, backend);
  try {
    return trainer.run(resuming, request.stop_after);
  } catch (const Error& e) {
    try {
      JobStatus status = read_status(request.job_dir);
      if (status.state != "error") {
        status.state = "error";
        status.message = e.what();
        status.updated = utc_now_iso8601();
        write_status(request.job_dir, status);
      }
    } catch (...) {
    }
    throw;
  }
}

std::string job_status_text(const std::string& job_dir, bool json) {
  require_job_dir(job_dir);
  JobStatus s = read_status(job_dir);
  std::vector<SnapshotInfo> snapshots = list_snapshots(job_dir);
  // A run that was killed (SIGKILL, a node lost) could not record its end: status.yaml still
  // says running, but no process holds the job's lock.
  const bool stale = (s.state == "running" || s.state == "queued") && !OutputLock::held(job_dir);
  if (json) {
    nlohmann::json j = {{"job", job_dir}, {"state", s.state}, {"pid", s.pid}, {"host", s.host},
                        {"started", s.started}, {"updated", s.updated}, {"epoch", s.epoch},
                        {"iteration", s.iteration}, {"total_iterations", s.total_iterations},
                        {"message", s.message}, {"snapshots", snapshots.size()}, {"stale", stale}};
    j["best_val_accuracy"] = s.best_val_accuracy >= 0 ? nlohmann::json(s.best_val_accuracy) : nlohmann::json();
    return j.dump() + "\n";
  }
  double progress = s.total_iterations > 0 ? 100.0 * s.iteration / s.total_iterations : 0;
  std::string state = s.state;
  if (stale) state += " (stale: no digits-train runs this job; it was killed: --resume continues it)";
  std::string out = fmt::format("job:        {}\nstate:      {}\nprogress:   epoch {:.2f}, iteration {}/{} ({:.1f}%)\n",
                                job_dir, state, s.epoch, s.iteration, s.total_iterations, progress);
  out += fmt::format("best val:   {}\n", s.best_val_accuracy >= 0 ? fmt::format("{:.4f}", s.best_val_accuracy) : "-");
  out += fmt::format("snapshots:  {}\n", snapshots.size());
  out += fmt::format("updated:    {} (pid {} on {})\n", s.updated, s.pid, s.host);
  if (!s.message.empty()) out += fmt::format("message:    {}\n", s.message);
  return out;
}

std::string dataset_resize_mode(const std::string& dataset_dir) {
  std::string manifest = join(dataset_dir, "dataset.yaml");
  if (!fs::exists(manifest)) return "squash";  // DIGITS's default
  YAML::Node root = load_yaml_file(manifest);
  YAML::Node mode = root["resize_mode"];
  if (!mode) mode = root["resize"];
  return mode && mode.IsScalar() ? mode.Scalar() : std::string("squash");
}

}  // namespace digits

namespace digits {

std::string benchmark_network(const std::string& network, int64_t batch_size, int64_t classes,
                              int iterations, const std::string& device, bool json) {
  if (iterations < 1) fail_usage("--iterations must be at least 1, got {}", iterations);
  NetSpecOptions options;
  options.classes = classes;
  std::string path = find_network(network);
  NetSpec spec = load_net_spec(path, options);
  int64_t batch = batch_size > 0 ? batch_size : (spec.batch_size > 0 ? spec.batch_size : 64);
  Backend& backend = backend_for(device.empty() ? "auto" : device);
  Net net(spec, Phase::train, batch, backend, 1);
  // Random inputs, valid labels.
  Rng rng(1);
  for (const auto& name : net.input_names()) {
    Tensor& t = net.blob(name);
    std::vector<float> values(t.count());
    int64_t label_range = spec.classes > 0 ? spec.classes : 2;
    for (auto& v : values)
      v = name == "label" ? static_cast<float>(rng.below(static_cast<uint64_t>(label_range)))
                          : rng.uniform(-1.0f, 1.0f);
    t.set_data(values);
  }
  const size_t n = net.layers().size();
  std::vector<double> forward_ms(n, 0.0), backward_ms(n, 0.0);
  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t) {
    return std::chrono::duration<double, std::milli>(clock::now() - t).count();
  };
  net.forward();  // warm-up: first touches of every buffer
  net.backward();
  double total_ms = 0;
  for (int it = 0; it < iterations; ++it) {
    auto start = clock::now();
    for (size_t i = 0; i < n; ++i) {
      auto t = clock::now();
      net.forward_layer(i);
      backend.synchronize();
      forward_ms[i] += ms_since(t);
    }
    net.seed_loss_grads();
    for (size_t i = n; i-- > 0;) {
      auto t = clock::now();
      net.backward_layer(i);
      backend.synchronize();
      backward_ms[i] += ms_since(t);
    }
    net.zero_param_grads();
    total_ms += ms_since(start);
  }
  for (size_t i = 0; i < n; ++i) {
    forward_ms[i] /= iterations;
    backward_ms[i] /= iterations;
  }
  double per_iteration = total_ms / iterations;
  double images_per_s = batch * 1000.0 / per_iteration;
  if (json) {
    nlohmann::json j = {{"network", spec.name}, {"batch_size", batch}, {"device", backend.name()},
                        {"iterations", iterations}, {"ms_per_iteration", per_iteration},
                        {"images_per_s", images_per_s}};
    for (size_t i = 0; i < n; ++i) {
      const Layer& layer = *net.layers()[i];
      j["layers"].push_back({{"name", layer.name()}, {"type", layer.type()},
                             {"forward_ms", forward_ms[i]}, {"backward_ms", backward_ms[i]}});
    }
    return j.dump() + "\n";
  }
  std::string out = fmt::format("{} ({}), batch {}, {} iterations on {}\n", spec.name, path, batch,
                                iterations, backend.name());
  out += fmt::format("{:<24} {:<16} {:>12} {:>12}\n", "layer", "type", "forward ms", "backward ms");
  for (size_t i = 0; i < n; ++i) {
    const Layer& layer = *net.layers()[i];
    out += fmt::format("{:<24} {:<16} {:>12.3f} {:>12.3f}\n", layer.name(), layer.type(),
                       forward_ms[i], backward_ms[i]);
  }
  out += fmt::format("total: {:.3f} ms per forward+backward, {:.0f} images/s\n", per_iteration,
                     images_per_s);
  return out;
}

}  // namespace digits
