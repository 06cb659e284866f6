#include "nn/filler.h"

#include <cmath>
#include <vector>

#include "core/error.h"

namespace digits {

FillerSpec parse_filler(const LayerConfig& config, const char* key, const FillerSpec& fallback) {
  if (!config.has(key)) return fallback;
  YAML::Node node = config.node(key);
  if (!node.IsMap()) config.fail_key(key, "expected a mapping such as {type: xavier}");
  // Read the filler's own keys through a LayerConfig view so errors carry positions.
  LayerConfig view(node, "", 0);
  FillerSpec spec;
  for (const auto& item : node) {
    std::string k = item.first.Scalar();
    static const std::vector<std::string> known = {"type", "value", "min", "max",
                                                   "mean", "std", "variance_norm"};
    bool ok = false;
    for (const auto& name : known) ok = ok || name == k;
    if (!ok) {
      std::string hint = closest_match(k, known);
      config.fail_key(key, fmt::format("unknown filler key `{}`{}", k,
                                       hint.empty() ? "" : "; did you mean `" + hint + "`?"));
    }
  }
  auto choice = [&](const char* k, const std::string& fb,
                    std::initializer_list<const char*> options) {
    try {
      return view.get_choice(k, fb, options);
    } catch (const Error& e) {
      config.fail_key(key, e.what());
    }
  };
  auto number = [&](const char* k, double fb) {
    try {
      return view.get_float(k, fb);
    } catch (const Error& e) {
      config.fail_key(key, e.what());
    }
  };
  spec.type = choice("type", "constant", {"constant", "uniform", "gaussian", "xavier", "msra"});
  spec.value = number("value", 0.0);
  spec.min = number("min", 0.0);
  spec.max = number("max", 1.0);
  spec.mean = number("mean", 0.0);
  spec.std = number("std", 1.0);
  spec.variance_norm = choice("variance_norm", "fan_in", {"fan_in", "fan_out", "average"});
  if (spec.type == "uniform" && spec.min > spec.max)
    config.fail_key(key, fmt::format("uniform filler: min {} > max {}", spec.min, spec.max));
  if (spec.type == "gaussian" && spec.std < 0)
    config.fail_key(key, fmt::format("gaussian filler: std {} < 0", spec.std));
  return spec;
}

void fill(const FillerSpec& spec, Tensor& tensor, Rng& rng) {
  int64_t count = tensor.count();
  std::vector<float> values(count);
  int64_t fan_in = tensor.num_axes() > 0 && tensor.dim(0) > 0 ? count / tensor.dim(0) : count;
  int64_t fan_out = tensor.num_axes() > 1 && tensor.dim(1) > 0 ? count / tensor.dim(1) : count;
  double n = spec.variance_norm == "fan_out"   ? fan_out
             : spec.variance_norm == "average" ? (fan_in + fan_out) / 2.0
                                               : fan_in;
  if (n <= 0) n = 1;
  if (spec.type == "constant") {
    for (auto& v : values) v = static_cast<float>(spec.value);
  } else if (spec.type == "uniform") {
    for (auto& v : values) v = rng.uniform(static_cast<float>(spec.min), static_cast<float>(spec.max));
  } else if (spec.type == "gaussian") {
    for (auto& v : values) v = rng.normal(static_cast<float>(spec.mean), static_cast<float>(spec.std));
  } else if (spec.type == "xavier") {
    // Caffe: uniform in [-sqrt(3/n), sqrt(3/n)].
    float scale = static_cast<float>(std::sqrt(3.0 / n));
    for (auto& v : values) v = rng.uniform(-scale, scale);
  } else if (spec.type == "msra") {
    // Caffe (He et al.): gaussian with std sqrt(2/n).
    float stddev = static_cast<float>(std::sqrt(2.0 / n));
    for (auto& v : values) v = rng.normal(0.0f, stddev);
  } else {
    fail_usage("unknown filler type \"{}\"", spec.type);
  }
  tensor.set_data(values);
}

}  // namespace digits
