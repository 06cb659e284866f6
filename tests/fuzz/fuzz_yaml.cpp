// The safe YAML loader (core/yaml_safe): every spec, job file and dataset manifest goes through
// it first. Checks: no crash, no unbounded work (libFuzzer's -timeout and -rss_limit_mb), and
// only documented errors (usage, "label:line:col: ...").
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/yaml_safe.h"
#include "fuzz_util.h"

namespace {

// Visits every node, as the spec readers do when they look up keys and convert scalars.
size_t walk(const YAML::Node& node, int depth) {
  if (depth > 1000) digits::fuzz::bug("nesting deeper than the loader allows", "");
  size_t count = 1;
  if (node.IsMap()) {
    for (const auto& entry : node) count += walk(entry.first, depth + 1) + walk(entry.second, depth + 1);
  } else if (node.IsSequence()) {
    for (const auto& item : node) count += walk(item, depth + 1);
  } else if (node.IsScalar()) {
    count += node.Scalar().size() > 0;
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  digits::YamlLimits limits;
  limits.max_bytes = 1 << 20;
  digits::fuzz::expect_clean_rejection([&] {
    YAML::Node root = digits::load_yaml_string(text, "fuzz.yaml", limits);
    walk(root, 0);
  });
  return 0;
}
