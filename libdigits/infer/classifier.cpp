#include "infer/classifier.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "backend/backend.h"
#include "core/error.h"
#include "infer/preprocess.h"
#include "nn/net_spec.h"

namespace digits {

namespace fs = std::filesystem;

namespace {

std::string join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

void require_job_file(const std::string& job_dir, const std::string& name) {
  if (!fs::exists(join(job_dir, name)))
    fail_data("{}: missing (an incomplete job directory: made by digits-train -o?)",
              join(job_dir, name));
}

// Inference never needs more than this many images in one forward pass.
constexpr int64_t kMaxInferBatch = 4096;

}  // namespace

std::vector<std::string> load_net_weights(Net& net, const SafetensorsFile& weights) {
  std::vector<std::string> problems;
  std::set<std::string> used;
  for (auto& ref : net.params()) {
    used.insert(ref.name);
    if (!weights.contains(ref.name)) {
      problems.push_back(fmt::format("tensor {} is missing", ref.name));
      continue;
    }
    const SafetensorsTensor& t = weights.tensors.at(ref.name);
    if (t.shape != ref.param->value.shape()) {
      problems.push_back(fmt::format("tensor {} has shape {}, the network needs {}", ref.name,
                                     shape_string(t.shape), ref.param->value.shape_string()));
      continue;
    }
    ref.param->value.set_data(t.data);
  }
  if (!problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += "\n  " + p;
    fail_data("{}: does not match network {} ({} problem(s)):{}", weights.path, net.spec().name,
              problems.size(), list);
  }
  std::vector<std::string> unused;
  for (const auto& name : weights.names)
    if (!used.count(name)) unused.push_back(name);
  return unused;
}

std::vector<std::string> read_job_labels(const std::string& job_dir) {
  require_job_file(job_dir, "labels.txt");
  std::string path = join(job_dir, "labels.txt");
  std::ifstream in(path);
  if (!in) fail_runtime("{}: cannot open", path);
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) labels.push_back(line);
  }
  if (labels.empty()) fail_data("{}: no class names", path);
  return labels;
}

Classifier::Classifier(const ClassifierOptions& options) : options_(options) {
  const std::string& dir = options_.job_dir;
  if (options_.batch_size < 1 || options_.batch_size > kMaxInferBatch)
    fail_usage("batch size must be from 1 to {}, got {}", kMaxInferBatch, options_.batch_size);
  require_job_dir(dir);
  require_job_file(dir, "network.yaml");
  require_job_file(dir, "preprocess.yaml");
  preprocess_ = read_preprocess(dir);
  mean_ = load_job_mean(dir, preprocess_);
  labels_ = read_job_labels(dir);
  if (preprocess_.crop > preprocess_.height || preprocess_.crop > preprocess_.width)
    fail_data("{}: crop {} is larger than the {}x{} records", join(dir, "preprocess.yaml"),
              preprocess_.crop, preprocess_.width, preprocess_.height);
  snapshot_ = select_snapshot(dir, options_.snapshot);

  // Parse and check everything that can fail on the user's input before touching a device.
  NetSpec spec = load_net_spec(join(dir, "network.yaml"));
  SafetensorsFile weights = load_safetensors(snapshot_.weights);
  Backend& backend = backend_for(options_.device);
  net_ = std::make_unique<Net>(spec, Phase::deploy, options_.batch_size, backend, 1);

  if (net_->input_names().size() != 1)
    fail_data("{}: the deploy network has {} inputs, a classifier needs one image input",
              spec.file, net_->input_names().size());
  input_name_ = net_->input_names()[0];
  const int64_t oh = preprocess_out_height(preprocess_), ow = preprocess_out_width(preprocess_);
  const Shape expected_input = {options_.batch_size, preprocess_.channels, oh, ow};
  if (net_->blob(input_name_).shape() != expected_input)
    fail_data("{}: input `{}` is {} per batch, but preprocess.yaml gives images of {}x{}x{} "
              "(channels x height x width after the crop)",
              spec.file, input_name_, net_->blob(input_name_).shape_string(),
              preprocess_.channels, oh, ow);
  sample_size_ = preprocess_.channels * oh * ow;

  // The output: the only unconsumed top, or the one a Softmax layer makes.
  std::vector<std::string> outputs = net_->output_names();
  if (outputs.empty()) fail_data("{}: the deploy network has no output", spec.file);
  auto producer_type = [&](const std::string& blob) {
    std::string type;
    for (const auto& layer : net_->layers())
      for (const auto& top : layer->config().tops)
        if (top == blob) type = layer->type();
    return type;
  };
  output_name_ = outputs.back();
  for (const auto& name : outputs)
    if (producer_type(name) == "Softmax") output_name_ = name;
  if (outputs.size() > 1 && producer_type(output_name_) != "Softmax") {
    std::string names;
    for (const auto& n : outputs) names += (names.empty() ? "" : ", ") + n;
    fail_data("{}: the deploy network has several outputs ({}) and none is a Softmax: cannot "
              "tell which one holds the class scores",
              spec.file, names);
  }
  output_is_softmax_ = producer_type(output_name_) == "Softmax";
  const Tensor& out = net_->blob(output_name_);
  if (out.num_axes() < 2 || out.count(1) != num_classes())
    fail_data("{}: output `{}` is {} per batch, but {} names {} classes", spec.file, output_name_,
              out.shape_string(), join(dir, "labels.txt"), num_classes());

  std::vector<std::string> unused = load_net_weights(*net_, weights);
  if (!unused.empty()) {
    std::string names;
    for (const auto& n : unused) names += (names.empty() ? "" : ", ") + n;
    notes_.push_back(fmt::format("{}: {} tensor(s) not used by the network: {}",
                                 snapshot_.weights, unused.size(), names));
  }
}

std::vector<float> Classifier::classify_batch(const float* samples, int64_t n) {
  DIGITS_CHECK(n >= 1 && n <= options_.batch_size, "classify_batch: {} images for a batch of {}",
               n, options_.batch_size);
  // A short batch (the last one, or a single image) runs the net reshaped to n images, so one
  // image costs one image of compute; reshaping keeps the allocation.
  if (net_->batch_size() != n) net_->reshape_batch(n);
  Tensor& input = net_->blob(input_name_);
  copy_bytes(input.data(), input.device(), samples, Device::cpu,
             static_cast<size_t>(n * sample_size_) * sizeof(float));
  net_->forward();
  std::vector<float> scores = net_->blob(output_name_).host_data();
  const int64_t k = num_classes();
  DIGITS_CHECK(static_cast<int64_t>(scores.size()) == n * k, "output {} has {} values for {} images",
               output_name_, scores.size(), n);
  if (!output_is_softmax_) {
    std::vector<float> probs(scores.size());
    cpu_backend().softmax_forward(n, k, 1, scores.data(), probs.data());
    return probs;
  }
  return scores;
}

std::vector<int> top_k_indices(const float* probs, int64_t count, int64_t k) {
  std::vector<int> order(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) order[i] = static_cast<int>(i);
  k = std::clamp<int64_t>(k, 0, count);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
  });
  order.resize(static_cast<size_t>(k));
  return order;
}

}  // namespace digits
