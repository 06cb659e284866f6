#include "nn/layer_config.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace digits {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::train: return "train";
    case Phase::val: return "val";
    case Phase::deploy: return "deploy";
  }
  return "?";
}

std::string yaml_position(const std::string& file, const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.line < 0) return file;
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

static std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

LayerConfig::LayerConfig(YAML::Node node, std::string file, int index)
    : node_(std::move(node)), file_(std::move(file)), index_(index) {
  name = get_string("name", "");
  type = get_string("type", "");
  // bottom/top accept a single name or a list of names.
  auto names = [&](const char* key) {
    std::vector<std::string> out;
    YAML::Node n = node_[key];
    if (!n) return out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        if (!item.IsScalar()) fail_key(key, "expected a blob name or a list of blob names");
        out.push_back(item.Scalar());
      }
    } else {
      fail_key(key, "expected a blob name or a list of blob names, got " + scalar_text(n));
    }
    return out;
  };
  bottoms = names("bottom");
  tops = names("top");
}

LayerConfig LayerConfig::section(YAML::Node node, std::string file, std::string key_prefix) {
  LayerConfig view;
  view.node_ = std::move(node);
  view.file_ = std::move(file);
  view.is_section_ = true;
  view.key_prefix_ = std::move(key_prefix);
  return view;
}

bool LayerConfig::has(const char* key) const { return node_.IsMap() && node_[key].IsDefined(); }

YAML::Node LayerConfig::node(const char* key) const {
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return node_[key];
}

std::string LayerConfig::where(const char* key) const {
  YAML::Node at = key && has(key) ? node_[key] : node_;
  if (is_section_) return yaml_position(file_, at);
  std::string layer = name.empty() ? fmt::format("layers[{}]", index_)
                                   : fmt::format("layer '{}'", name);
  if (!type.empty()) layer += " (" + type + ")";
  return yaml_position(file_, at) + ": " + layer;
}

void LayerConfig::fail_key(const char* key, const std::string& message) const {
  if (key)
    fail_usage("{}: {}{}: {}", where(key), key_prefix_, key, message);
  fail_usage("{}: {}", where(nullptr), message);
}

static bool parse_int(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  size_t pos = 0;
  try {
    long long v = std::stoll(text, &pos, 10);
    if (pos != text.size()) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

static bool parse_float(const std::string& text, double* out) {
  if (text.empty()) return false;
  size_t pos = 0;
  try {
    double v = std::stod(text, &pos);
    if (pos != text.size()) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

int64_t LayerConfig::get_int(const char* key, int64_t fallback) const {
  if (!has(key)) return fallback;
  YAML::Node n = node_[key];
  int64_t value = 0;
  if (!n.IsScalar() || !parse_int(n.Scalar(), &value))
    fail_key(key, "expected an integer, got " + scalar_text(n));
  if (value > (int64_t(1) << 40) || value < -(int64_t(1) << 40))
    fail_key(key, "value " + n.Scalar() + " is out of range");
  return value;
}

int64_t LayerConfig::require_int(const char* key) const {
  if (!has(key)) fail_key(nullptr, fmt::format("missing required key `{}`", key));
  return get_int(key, 0);
}

int64_t LayerConfig::get_int_at_least(const char* key, int64_t fallback, int64_t minimum) const {
  int64_t value = get_int(key, fallback);
  if (value < minimum) {
    if (minimum == 1) fail_key(key, fmt::format("expected a positive integer, got {}", value));
    fail_key(key, fmt::format("expected an integer >= {}, got {}", minimum, value));
  }
  return value;
}

double LayerConfig::get_float(const char* key, double fallback) const {
  if (!has(key)) return fallback;
  YAML::Node n = node_[key];
  double value = 0;
  if (!n.IsScalar() || !parse_float(n.Scalar(), &value))
    fail_key(key, "expected a number, got " + scalar_text(n));
  if (!std::isfinite(value) || std::fabs(value) > 1e12)
    fail_key(key, "expected a finite number of reasonable size, got " + n.Scalar());
  return value;
}

bool LayerConfig::get_bool(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  YAML::Node n = node_[key];
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
  }
  fail_key(key, "expected true or false, got " + scalar_text(n));
}

std::string LayerConfig::get_string(const char* key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  YAML::Node n = node_[key];
  if (!n.IsScalar()) fail_key(key, "expected a string, got " + scalar_text(n));
  return n.Scalar();
}

std::string LayerConfig::get_choice(const char* key, const std::string& fallback,
                                    std::initializer_list<const char*> choices) const {
  std::string value = get_string(key, fallback);
  std::vector<std::string> options(choices.begin(), choices.end());
  if (std::find(options.begin(), options.end(), value) != options.end()) return value;
  std::string list;
  for (const auto& c : options) list += (list.empty() ? "" : ", ") + c;
  fail_key(key, fmt::format("expected one of {}, got \"{}\"", list, value));
}

std::vector<int64_t> LayerConfig::get_ints(const char* key) const {
  std::vector<int64_t> out;
  if (!has(key)) return out;
  YAML::Node n = node_[key];
  if (n.IsScalar()) return {get_int(key, 0)};
  if (!n.IsSequence()) fail_key(key, "expected an integer or a list of integers");
  for (const auto& item : n) {
    int64_t v = 0;
    if (!item.IsScalar() || !parse_int(item.Scalar(), &v))
      fail_key(key, "expected a list of integers, found " + scalar_text(item));
    out.push_back(v);
  }
  return out;
}

std::vector<double> LayerConfig::get_floats(const char* key) const {
  std::vector<double> out;
  if (!has(key)) return out;
  YAML::Node n = node_[key];
  if (n.IsScalar()) return {get_float(key, 0)};
  if (!n.IsSequence()) fail_key(key, "expected a number or a list of numbers");
  for (const auto& item : n) {
    double v = 0;
    if (!item.IsScalar() || !parse_float(item.Scalar(), &v) || !std::isfinite(v))
      fail_key(key, "expected a list of finite numbers, found " + scalar_text(item));
    out.push_back(v);
  }
  return out;
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    // Levenshtein distance, two rows.
    std::vector<size_t> prev(candidate.size() + 1), cur(candidate.size() + 1);
    for (size_t j = 0; j <= candidate.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= candidate.size(); ++j) {
        size_t sub = prev[j - 1] + (word[i - 1] == candidate[j - 1] ? 0 : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    if (prev[candidate.size()] < best_distance) {
      best_distance = prev[candidate.size()];
      best = candidate;
    }
  }
  return best;
}

}  // namespace digits
