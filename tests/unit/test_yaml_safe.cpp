// The safe YAML loader: hostile and ambiguous input refused before nodes are built, with
// "label:line:col: message" usage errors.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/yaml_safe.h"

using namespace digits;

namespace {

// The usage error's message for loading `text`, or "" when it loads.
std::string load_error(const std::string& text, const YamlLimits& limits = {}) {
  try {
    load_yaml_string(text, "spec.yaml", limits);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  return "";
}

std::string temp_path(const char* name) {
  return std::string("/tmp/digits_test_yaml_safe_") + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

TEST_CASE("plain YAML loads, with a byte-order mark too") {
  YAML::Node n = load_yaml_string("a: 1\nb: [x, y]\nc: {d: 2}\n", "t");
  CHECK(n["a"].as<int>() == 1);
  CHECK(n["b"].size() == 2);
  CHECK(n["c"]["d"].as<int>() == 2);
  YAML::Node bom = load_yaml_string("\xEF\xBB\xBF" "a: 1\nb: 2\n", "t");
  CHECK(bom["a"].as<int>() == 1);
  CHECK(bom["b"].Mark().line == 1);
  CHECK(bom["b"].Mark().column == 3);
  CHECK(load_yaml_string("", "t").IsNull());
  // Tabs are fine where YAML allows them: as separators after a key.
  CHECK(load_yaml_string("a:\t1\n", "t")["a"].as<int>() == 1);
}

TEST_CASE("anchors and aliases are refused: a billion laughs costs nothing") {
  CHECK(load_error("a: &x [1, 2]\nb: *x\n") ==
        "spec.yaml:1:4: YAML anchors are not accepted (`&x`): anchors and aliases can expand "
        "a small file into an enormous one; write the value out");
  std::string laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) laughs += std::string(i ? ",*" : "*") + char(c - 1);
    laughs += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  std::string error = load_error(laughs);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(error.rfind("spec.yaml:1:4: YAML anchors are not accepted", 0) == 0);
  CHECK(seconds < 0.5);
  // An alias with no anchor is refused by the parser itself.
  CHECK(load_error("a: *missing\n") == "spec.yaml:1:4: the referenced anchor is not defined");
}

TEST_CASE("nesting deeper than the limit is refused, quickly") {
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  auto start = std::chrono::steady_clock::now();
  CHECK(load_error(deep) == "spec.yaml:1:65: nesting deeper than 64 levels; refused");
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 0.5);
  std::string block;
  for (int i = 0; i < 10000; ++i) block += "- ";
  CHECK(load_error(block + "x\n") == "spec.yaml:1:129: nesting deeper than 64 levels; refused");
  // 64 levels are fine.
  CHECK(load_error(std::string(64, '[') + std::string(64, ']')) == "");
  YamlLimits shallow;
  shallow.max_depth = 2;
  CHECK(load_error("a: {b: {c: 1}}\n", shallow) == "spec.yaml:1:8: nesting deeper than 2 levels; "
                                                   "refused");
}

TEST_CASE("duplicate keys, complex keys and several documents are refused") {
  CHECK(load_error("name: a\nlayers: []\nname: b\n") ==
        "spec.yaml:3:1: duplicate key `name` (first given at line 1)");
  CHECK(load_error("x: {k: 1, k: 2}\n") ==
        "spec.yaml:1:11: duplicate key `k` (first given at line 1)");
  // The same key in two different mappings is fine.
  CHECK(load_error("- {k: 1}\n- {k: 2}\n") == "");
  CHECK(load_error("? [a, b]\n: 1\n").find("a mapping key must be a plain value") !=
        std::string::npos);
  CHECK(load_error("a: 1\n---\nb: 2\n") ==
        "spec.yaml:2:1: a second YAML document (`---`) found; expected exactly one");
}

TEST_CASE("parse errors carry file:line:col, tabs get a hint") {
  CHECK(load_error("a: [1, 2\n") == "spec.yaml:2:1: end of sequence flow not found");
  CHECK(load_error("a: 1\n\tb: 2\n") ==
        "spec.yaml:2:1: illegal tab when looking for indentation (a tab character: YAML "
        "indents with spaces only)");
  CHECK(load_error("a:\n\t- 1\n").find("(a tab character: YAML indents with spaces only)") !=
        std::string::npos);
  CHECK(load_error(std::string("a: 1\n\0b: 2\n", 11)) ==
        "spec.yaml: contains a NUL byte; not a YAML text file");
}

TEST_CASE("files: size cap before reading, missing and non-regular files") {
  std::string path = temp_path("big.yaml");
  {
    std::ofstream out(path);
    out << "a: \"" << std::string(2000, 'x') << "\"\n";
  }
  YamlLimits small;
  small.max_bytes = 1000;
  try {
    load_yaml_file(path, small);
    FAIL("expected a usage error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()) ==
          path + ": 2006 bytes is more than the limit of 1000 bytes for a YAML file");
  }
  CHECK(load_yaml_file(path)["a"].Scalar().size() == 2000);
  CHECK(read_yaml_text(path).size() == 2006);
  std::remove(path.c_str());
  try {
    load_yaml_file(path);
    FAIL("expected a usage error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()) == path + ": cannot read: No such file or directory");
  }
  CHECK_THROWS_WITH_AS(load_yaml_file("/tmp"), "/tmp: not a regular file", Error);
  // Parse errors in a file name the file.
  std::string bad = temp_path("bad.yaml");
  {
    std::ofstream out(bad);
    out << "a: 1\na: 2\n";
  }
  CHECK_THROWS_WITH_AS(load_yaml_file(bad), (bad + ":2:1: duplicate key `a` (first given at line 1)").c_str(),
                       Error);
  std::remove(bad.c_str());
}
