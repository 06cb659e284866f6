#include "core/yaml_safe.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace digits {

namespace {

std::string position(const std::string& label, const YAML::Mark& mark) {
  if (mark.line < 0) return label;
  return fmt::format("{}:{}:{}", label, mark.line + 1, mark.column + 1);
}

// The text of line `line` (0-based), for hints about tabs.
std::string line_text(const std::string& text, int line) {
  size_t begin = 0;
  for (int i = 0; i < line; ++i) {
    begin = text.find('\n', begin);
    if (begin == std::string::npos) return "";
    ++begin;
  }
  size_t end = text.find('\n', begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// Walks the event stream and refuses hostile or ambiguous structure before any node is built.
class SafetyCheck final : public YAML::EventHandler {
 public:
  SafetyCheck(const std::string& label, const YamlLimits& limits)
      : label_(label), limits_(limits) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1)
      fail_usage("{}: a second YAML document (`---`) found; expected exactly one",
                 position(label_, mark));
  }
  void OnDocumentEnd() override {}

  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    fail_usage("{}: YAML anchors are not accepted (`&{}`): anchors and aliases can expand a "
               "small file into an enormous one; write the value out",
               position(label_, mark), name);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    fail_usage("{}: YAML aliases (`*name`) are not accepted; write the value out",
               position(label_, mark));
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    node(mark, anchor, "~", false);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    node(mark, anchor, value, false);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    node(mark, anchor, "", true);
    push(mark, false);
  }
  void OnSequenceEnd() override { stack_.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    node(mark, anchor, "", true);
    push(mark, true);
  }
  void OnMapEnd() override { stack_.pop_back(); }

 private:
  struct Frame {
    bool is_map = false;
    bool expect_key = true;
    std::unordered_map<std::string, YAML::Mark> keys;  // first position of each key
  };

  void push(const YAML::Mark& mark, bool is_map) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth)
      fail_usage("{}: nesting deeper than {} levels; refused", position(label_, mark),
                 limits_.max_depth);
    stack_.push_back(Frame{is_map, true, {}});
  }

  // Every node: a key or a value of the enclosing collection.
  void node(const YAML::Mark& mark, YAML::anchor_t anchor, const std::string& scalar,
            bool is_collection) {
    if (anchor != YAML::NullAnchor)
      fail_usage("{}: YAML anchors are not accepted; write the value out", position(label_, mark));
    if (stack_.empty() || !stack_.back().is_map) return;
    Frame& frame = stack_.back();
    if (frame.expect_key) {
      if (is_collection)
        fail_usage("{}: a mapping key must be a plain value, not a list or mapping",
                   position(label_, mark));
      auto [it, inserted] = frame.keys.emplace(scalar, mark);
      if (!inserted)
        fail_usage("{}: duplicate key `{}` (first given at line {})", position(label_, mark),
                   scalar, it->second.line + 1);
    }
    frame.expect_key = !frame.expect_key;
  }

  const std::string& label_;
  const YamlLimits& limits_;
  int documents_ = 0;
  std::vector<Frame> stack_;
};

}  // namespace

YAML::Node load_yaml_string(const std::string& input, const std::string& label,
                            const YamlLimits& limits) {
  if (input.size() > limits.max_bytes)
    fail_usage("{}: {} bytes of YAML is more than the limit of {} bytes", label, input.size(),
               limits.max_bytes);
  // A UTF-8 byte-order mark is harmless; drop it so columns on line 1 count from the text.
  std::string text = input;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  if (text.find('\0') != std::string::npos)
    fail_usage("{}: contains a NUL byte; not a YAML text file", label);

  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    SafetyCheck check(label, limits);
    while (parser.HandleNextDocument(check)) {
    }
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string message = e.msg;
    if (e.mark.line >= 0 && line_text(text, e.mark.line).find('\t') != std::string::npos)
      message += " (a tab character: YAML indents with spaces only)";
    fail_usage("{}: {}", position(label, e.mark), message);
  }
}

std::string read_yaml_text(const std::string& path, const YamlLimits& limits) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    fail_usage("{}: cannot read: {}", path, std::strerror(errno));
  if (!S_ISREG(info.st_mode)) fail_usage("{}: not a regular file", path);
  if (static_cast<uint64_t>(info.st_size) > limits.max_bytes)
    fail_usage("{}: {} bytes is more than the limit of {} bytes for a YAML file", path,
               static_cast<uint64_t>(info.st_size), limits.max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_usage("{}: cannot open: {}", path, std::strerror(errno));
  // Read one byte more than stat() said, so a file that grew since is still caught by the limit
  // in load_yaml_string.
  std::string text(static_cast<size_t>(info.st_size) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) fail_usage("{}: read error", path);
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > limits.max_bytes)
    fail_usage("{}: more than the limit of {} bytes for a YAML file", path, limits.max_bytes);
  return text;
}

YAML::Node load_yaml_file(const std::string& path, const YamlLimits& limits) {
  return load_yaml_string(read_yaml_text(path, limits), path, limits);
}

}  // namespace digits
