// Loading YAML that comes from users and from the network: specs, job files, dataset manifests.
//
// YAML is untrusted input, so before yaml-cpp builds any node the text goes through a pass over
// the parser's event stream that refuses what could cost memory or time out of proportion to
// the file, or that hides a mistake:
//  - files larger than max_bytes (checked before reading);
//  - anchors and aliases (&x, *x): a "billion laughs" file is refused at its first anchor;
//  - nesting deeper than max_depth;
//  - duplicate keys in one mapping (yaml-cpp would silently keep one of them);
//  - complex (non-scalar) mapping keys, and more than one document.
// Every failure is a usage error (ExitCode::usage) worded "label:line:col: message". A UTF-8
// byte-order mark at the start is accepted.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>

namespace digits {

struct YamlLimits {
  size_t max_bytes = size_t(16) << 20;  // 16 MiB
  int max_depth = 64;                   // nested mappings/sequences
};

// Reads and checks `path`; errors name the path. An empty file gives a Null node.
YAML::Node load_yaml_file(const std::string& path, const YamlLimits& limits = {});

// The text of a YAML file, with the file checks of load_yaml_file (regular file, size cap
// before reading) but not parsed: for callers that keep the text (a job dir's network.yaml).
std::string read_yaml_text(const std::string& path, const YamlLimits& limits = {});

// Checks and parses `text`; `label` names it in messages (a path, "--set", "<stdin>").
YAML::Node load_yaml_string(const std::string& text, const std::string& label,
                            const YamlLimits& limits = {});

}  // namespace digits
