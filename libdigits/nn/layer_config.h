// One layer's entry of a network spec, with typed accessors whose errors name the file, line,
// column, layer and key, and say what would have been valid:
//   lenet.yaml:14:9: layer 'conv1' (Convolution): kernel_size: expected a positive integer, got "three"
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace digits {

enum class Phase { train, val, deploy };
const char* phase_name(Phase phase);

class LayerConfig {
 public:
  LayerConfig() = default;
  // file: the spec's path (for messages); index: position in the layers list.
  LayerConfig(YAML::Node node, std::string file, int index);
  // A view of a section that is not a layer (job spec keys, fillers): messages read
  // "file:line:col: <key_prefix><key>: message", e.g. "job.yaml:3:9: transforms.crop: ...".
  static LayerConfig section(YAML::Node node, std::string file, std::string key_prefix);

  std::string name;
  std::string type;
  std::vector<std::string> bottoms;
  std::vector<std::string> tops;

  bool has(const char* key) const;
  YAML::Node node(const char* key) const;  // undefined node when absent
  const YAML::Node& yaml() const { return node_; }

  int64_t get_int(const char* key, int64_t fallback) const;
  int64_t require_int(const char* key) const;
  // Like get_int, and the value must be >= minimum.
  int64_t get_int_at_least(const char* key, int64_t fallback, int64_t minimum) const;
  double get_float(const char* key, double fallback) const;  // finite, |x| <= 1e12
  bool get_bool(const char* key, bool fallback) const;
  std::string get_string(const char* key, const std::string& fallback) const;
  // One of `choices`; the error lists them.
  std::string get_choice(const char* key, const std::string& fallback,
                         std::initializer_list<const char*> choices) const;
  // A scalar or a list of integers (e.g. kernel_size: 3 or [3, 5]).
  std::vector<int64_t> get_ints(const char* key) const;
  std::vector<double> get_floats(const char* key) const;

  // "file:line:col: layer 'name' (Type)" pointing at `key` (or at the layer when key is null).
  std::string where(const char* key = nullptr) const;
  [[noreturn]] void fail_key(const char* key, const std::string& message) const;

 private:
  YAML::Node node_;
  std::string file_;
  int index_ = 0;
  bool is_section_ = false;
  std::string key_prefix_;
};

// A YAML scalar's position as "file:line:col" (1-based).
std::string yaml_position(const std::string& file, const YAML::Node& node);

// The closest of `candidates` to `word` by edit distance, or "" when none is close; for
// "did you mean ...?" hints.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace digits
