#include "nn/net_spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/yaml_safe.h"
#include "nn/layer_registry.h"
#include "nn/layers/input_layer.h"

namespace digits {

namespace {

// Limits checked before anything is built (DESIGN.md 5b).
constexpr size_t kMaxLayers = 10000;
constexpr size_t kMaxNameLength = 256;
constexpr double kMaxNumber = 1e12;
constexpr int64_t kMaxBatch = int64_t(1) << 20;
constexpr int64_t kMaxClasses = int64_t(1) << 24;
constexpr int64_t kMaxSampleCount = int64_t(1) << 30;
constexpr int kMaxAxes = 8;

const std::vector<std::string>& top_level_keys() {
  static const std::vector<std::string> keys = {"name",       "description", "input",
                                                "batch_size", "val_batch_size", "data_scale",
                                                "classes",    "layers"};
  return keys;
}

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "; did you mean `X`?" for the closest candidate (a case-only difference first), or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (lower(c) == lower(word)) return "; did you mean `" + c + "`?";
  std::string best = closest_match(word, candidates);
  return best.empty() ? "" : "; did you mean `" + best + "`?";
}

std::string describe_layer(const LayerConfig& c) {
  return fmt::format("layer '{}' ({})", c.name, c.type);
}

int line_of(const LayerConfig& c) { return c.yaml().Mark().line + 1; }

std::string node_text(const YAML::Node& n) {
  if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

bool parse_full_int(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos != s.size()) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

bool parse_full_double(const std::string& s, double* out) {
  if (s.empty()) return false;
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos != s.size()) return false;
    *out = v;
    return true;
  } catch (const std::out_of_range&) {
    *out = HUGE_VAL;  // "1e999": a number, and too large
    return true;
  } catch (...) {
    return false;
  }
}

// YAML's spellings of non-finite floats (.nan, .inf, -.Inf, ...) and C's (nan, inf).
bool is_nonfinite_literal(const std::string& s) {
  std::string t = lower(s);
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.erase(0, 1);
  return t == ".nan" || t == ".inf" || t == "nan" || t == "inf" || t == "infinity" ||
         t == ".infinity";
}

// ---- top-level values -----------------------------------------------------------------------

int64_t read_int(const YAML::Node& n, const std::string& file, const char* key, int64_t min,
                 int64_t max) {
  int64_t v = 0;
  if (!n.IsScalar() || !parse_full_int(n.Scalar(), &v))
    fail_usage("{}: {}: expected an integer, got {}", yaml_position(file, n), key, node_text(n));
  if (v < min || v > max)
    fail_usage("{}: {}: expected an integer from {} to {}, got {}", yaml_position(file, n), key,
               min, max, v);
  return v;
}

double read_number(const YAML::Node& n, const std::string& file, const char* key) {
  double v = 0;
  if (!n.IsScalar() || !parse_full_double(n.Scalar(), &v) || is_nonfinite_literal(n.Scalar()))
    fail_usage("{}: {}: expected a finite number, got {}", yaml_position(file, n), key,
               node_text(n));
  if (!std::isfinite(v) || std::fabs(v) > kMaxNumber)
    fail_usage("{}: {}: expected a finite number of reasonable size (|x| <= 1e12), got {}",
               yaml_position(file, n), key, n.Scalar());
  return v;
}

void check_name(const std::string& name, const std::string& file, const YAML::Node& at,
                const std::string& what) {
  if (name.empty()) fail_usage("{}: {}: empty name", yaml_position(file, at), what);
  if (name.size() > kMaxNameLength)
    fail_usage("{}: {}: name longer than {} characters", yaml_position(file, at), what,
               kMaxNameLength);
  for (char c : name)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      fail_usage("{}: {}: `{}`: names may not contain spaces or control characters",
                 yaml_position(file, at), what, name);
}

// ---- layer entries ----------------------------------------------------------------------------

const std::vector<std::string>& phase_names() {
  static const std::vector<std::string> names = {"train", "val", "deploy"};
  return names;
}

// The phases named by a layer's `phase` key (all when absent); errors point at the key.
std::vector<Phase> parse_phases(const LayerConfig& c) {
  if (!c.has("phase")) return {Phase::train, Phase::val, Phase::deploy};
  YAML::Node node = c.node("phase");
  std::vector<YAML::Node> items;
  if (node.IsScalar()) {
    items.push_back(node);
  } else if (node.IsSequence()) {
    for (const auto& item : node) items.push_back(item);
    if (items.empty()) c.fail_key("phase", "an empty list: the layer would never run");
  } else {
    c.fail_key("phase", "expected train, val or deploy, or a list of them; got " + node_text(node));
  }
  std::vector<Phase> phases;
  for (const auto& item : items) {
    std::string word = item.IsScalar() ? item.Scalar() : node_text(item);
    Phase p;
    if (word == "train") p = Phase::train;
    else if (word == "val") p = Phase::val;
    else if (word == "deploy") p = Phase::deploy;
    else {
      std::string hint = lower(word) == "test" ? "; did you mean `val`? (Caffe's TEST phase)"
                                               : did_you_mean(word, phase_names());
      c.fail_key("phase",
                 fmt::format("unknown phase `{}`{} (expected train, val or deploy, or a list of "
                             "them)",
                             word, hint));
    }
    if (std::find(phases.begin(), phases.end(), p) != phases.end())
      c.fail_key("phase", fmt::format("`{}` listed twice", word));
    phases.push_back(p);
  }
  return phases;
}

// Refuses non-finite and absurdly large numbers anywhere in a layer's parameters, so that no
// layer has to remember to (`.nan` where a number is expected, `1e30`).
void check_numbers(const std::string& file, const LayerConfig& c, const YAML::Node& node,
                   const std::string& path) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    double v = 0;
    bool nonfinite = is_nonfinite_literal(s);
    bool huge = !nonfinite && parse_full_double(s, &v) &&
                (!std::isfinite(v) || std::fabs(v) > kMaxNumber);
    if (nonfinite || huge)
      fail_usage("{}: {}: {}: expected a finite number of reasonable size (|x| <= 1e12), got {}",
                 yaml_position(file, node), describe_layer(c), path, s);
    return;
  }
  if (node.IsSequence()) {
    size_t i = 0;
    for (const auto& item : node) check_numbers(file, c, item, fmt::format("{}[{}]", path, i++));
    return;
  }
  if (node.IsMap())
    for (const auto& item : node)
      check_numbers(file, c, item.second, path + "." + item.first.Scalar());
}

void check_keys(const std::string& file, const LayerConfig& c, const LayerType& type) {
  std::vector<std::string> known = common_layer_keys();
  known.insert(known.end(), type.keys.begin(), type.keys.end());
  for (const auto& item : c.yaml()) {
    const std::string key = item.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string hint = did_you_mean(key, known);
    std::string list = hint.empty() ? fmt::format(" ({} accepts: {})", type.name, join(known)) : "";
    fail_usage("{}: {}: unknown key `{}`{}{}", yaml_position(file, item.first), describe_layer(c),
               key, hint, list);
  }
}

}  // namespace

// ---- helpers shared with the net builder ------------------------------------------------------

bool layer_in_phase(const LayerConfig& config, Phase phase) {
  std::vector<Phase> phases = parse_phases(config);
  return std::find(phases.begin(), phases.end(), phase) != phases.end();
}

ParamMultipliers param_multipliers(const LayerConfig& c) {
  ParamMultipliers out;
  auto multiplier = [&](const YAML::Node& n, const char* key, const std::string& path) {
    double v = 0;
    if (!n.IsScalar() || !parse_full_double(n.Scalar(), &v) || is_nonfinite_literal(n.Scalar()) ||
        !std::isfinite(v) || v < 0 || v > 1e6)
      c.fail_key(key, fmt::format("{}: expected a number from 0 to 1e6, got {}", path,
                                  node_text(n)));
    return static_cast<float>(v);
  };
  if (c.has("param")) {
    if (c.has("lr_mult") || c.has("decay_mult"))
      c.fail_key("param",
                 "give either `param` (one entry per parameter) or the `lr_mult`/`decay_mult` "
                 "shorthand for all parameters, not both");
    YAML::Node list = c.node("param");
    if (!list.IsSequence())
      c.fail_key("param", "expected a list such as [{lr_mult: 1, decay_mult: 1}, {lr_mult: 2, "
                          "decay_mult: 0}], one entry per parameter");
    static const std::vector<std::string> known = {"lr_mult", "decay_mult"};
    size_t index = 0;
    for (const auto& entry : list) {
      std::string path = fmt::format("param[{}]", index++);
      if (!entry.IsMap())
        c.fail_key("param", fmt::format("{}: expected a mapping such as {{lr_mult: 1, "
                                        "decay_mult: 1}}, got {}",
                                        path, node_text(entry)));
      ParamMultiplier m;
      for (const auto& item : entry) {
        std::string key = item.first.Scalar();
        if (key == "lr_mult") m.lr_mult = multiplier(item.second, "param", path + ".lr_mult");
        else if (key == "decay_mult")
          m.decay_mult = multiplier(item.second, "param", path + ".decay_mult");
        else
          c.fail_key("param", fmt::format("{}: unknown key `{}`{} (accepted: lr_mult, decay_mult)",
                                          path, key, did_you_mean(key, known)));
      }
      out.per_param.push_back(m);
    }
  }
  if (c.has("lr_mult")) out.all.lr_mult = multiplier(c.node("lr_mult"), "lr_mult", "value");
  if (c.has("decay_mult"))
    out.all.decay_mult = multiplier(c.node("decay_mult"), "decay_mult", "value");
  return out;
}

float layer_loss_weight(const LayerConfig& config, bool is_loss) {
  if (!config.has("loss_weight")) return is_loss ? 1.0f : 0.0f;
  double w = config.get_float("loss_weight", 0.0);
  if (w < 0) config.fail_key("loss_weight", fmt::format("expected a number >= 0, got {}", w));
  return static_cast<float>(w);
}

std::string check_sample_shape(const YAML::Node& node, Shape* shape) {
  static const char* example = "a list of dimensions such as [1, 28, 28] ([] for one value per "
                               "sample)";
  if (!node.IsSequence()) return fmt::format("expected {}, got {}", example, node_text(node));
  Shape out;
  for (const auto& item : node) {
    int64_t d = 0;
    if (!item.IsScalar() || !parse_full_int(item.Scalar(), &d) || d < 1 || d > (int64_t(1) << 24))
      return fmt::format("expected {}; dimension {} is {}", example, out.size(), node_text(item));
    out.push_back(d);
  }
  if (static_cast<int>(out.size()) > kMaxAxes)
    return fmt::format("{} axes; at most {} are supported", out.size(), kMaxAxes);
  int64_t count = 1;
  for (int64_t d : out) {
    count *= d;
    if (count > kMaxSampleCount)
      return fmt::format("shape {} has more than 2^30 values per sample", shape_string(out));
  }
  *shape = out;
  return "";
}

Shape parse_sample_shape(const YAML::Node& node, const std::string& file, const std::string& what) {
  Shape shape;
  std::string error = check_sample_shape(node, &shape);
  if (!error.empty()) fail_usage("{}: {}: {}", yaml_position(file, node), what, error);
  return shape;
}

PhasePlan plan_phase(const NetSpec& spec, Phase phase) {
  PhasePlan plan;
  std::set<std::string> available, dropped;
  for (const auto& [name, shape] : spec.inputs) {
    if (phase == Phase::deploy && name == "label") {
      dropped.insert(name);
      continue;
    }
    plan.inputs.emplace_back(name, shape);
    available.insert(name);
  }
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerConfig& c = spec.layers[i];
    if (!layer_in_phase(c, phase)) continue;
    // In deploy, a layer with no explicit phase that needs the label goes, and its tops with it.
    bool needs_dropped = false;
    for (const auto& b : c.bottoms) needs_dropped |= !available.count(b) && dropped.count(b);
    if (phase == Phase::deploy && needs_dropped && !c.has("phase")) {
      for (const auto& t : c.tops)
        if (!available.count(t)) dropped.insert(t);
      continue;
    }
    plan.layers.push_back(i);
    for (const auto& t : c.tops) {
      if (phase == Phase::deploy && c.type == "Input" && t == "label") {
        dropped.insert(t);
        continue;
      }
      available.insert(t);
    }
  }
  return plan;
}

namespace {

// A bottom that no earlier top produces in `phase`: say why, as precisely as we can.
[[noreturn]] void fail_missing_bottom(const NetSpec& spec, const PhasePlan& plan, size_t index,
                                      const std::string& blob, Phase phase,
                                      const std::vector<std::string>& available) {
  const LayerConfig& c = spec.layers[index];
  std::string what = c.has("bottom")
                         ? fmt::format("`{}`", blob)
                         : fmt::format("`{}` (by default, the previous layer's top)", blob);
  // Produced earlier, but not in this phase?
  for (size_t k = index; k-- > 0;) {
    const LayerConfig& p = spec.layers[k];
    if (std::find(p.tops.begin(), p.tops.end(), blob) == p.tops.end()) continue;
    bool in_plan = std::find(plan.layers.begin(), plan.layers.end(), k) != plan.layers.end();
    std::string why = !in_plan && layer_in_phase(p, phase)
                          ? "which the deploy phase drops because it needs `label`"
                          : fmt::format("which does not run in the {} phase", phase_name(phase));
    c.fail_key("bottom", fmt::format("{} is produced by layer '{}' (line {}), {}; give this "
                                     "layer a `phase` too, or wire it to another blob",
                                     what, p.name, line_of(p), why));
  }
  if (phase == Phase::deploy && blob == "label")
    c.fail_key("bottom", fmt::format("{}: the deploy phase has no `label` input; add `phase: "
                                     "[train, val]` to this layer",
                                     what));
  // Produced later: out of order, or a cycle?
  for (size_t j = index + 1; j < spec.layers.size(); ++j) {
    const LayerConfig& later = spec.layers[j];
    if (std::find(later.tops.begin(), later.tops.end(), blob) == later.tops.end()) continue;
    // Layers reachable from this one, following blob names forward in file order.
    std::map<std::string, size_t> reached_blobs;  // blob -> layer that produced it (reached)
    std::map<size_t, size_t> parent;              // reached layer -> layer it was reached from
    for (const auto& t : c.tops) reached_blobs[t] = index;
    for (size_t k = index + 1; k <= j; ++k) {
      const LayerConfig& l = spec.layers[k];
      for (const auto& b : l.bottoms) {
        auto it = reached_blobs.find(b);
        if (it == reached_blobs.end()) continue;
        parent[k] = it->second;
        for (const auto& t : l.tops) reached_blobs[t] = k;
        break;
      }
    }
    if (parent.count(j)) {
      std::vector<std::string> path = {"'" + c.name + "'"};
      for (size_t k = j; k != index; k = parent[k]) path.insert(path.begin() + 1, "'" + spec.layers[k].name + "'");
      path.push_back("'" + c.name + "'");
      c.fail_key("bottom", fmt::format("{} is produced by layer '{}' (line {}), which itself "
                                       "depends on this layer: a cycle ({})",
                                       what, later.name, line_of(later), join(path, " -> ")));
    }
    c.fail_key("bottom", fmt::format("{} is produced only by layer '{}' at line {}, later in the "
                                     "file; layers run in the order written, so move '{}' above "
                                     "'{}'",
                                     what, later.name, line_of(later), later.name, c.name));
  }
  std::string hint = did_you_mean(blob, available);
  std::string list = available.size() <= 16 ? fmt::format(" (available: {})", join(available))
                                            : "";
  c.fail_key("bottom", fmt::format("{}: no input or earlier layer produces it{}{}", what, hint,
                                   list));
}

// Checks the wiring of one phase: every bottom produced earlier, every top produced once
// (except in place: a top equal to one of the layer's bottoms).
void check_phase(const NetSpec& spec, Phase phase) {
  PhasePlan plan = plan_phase(spec, phase);
  std::map<std::string, int> producer;  // blob -> layer index, -1 for an input
  std::vector<std::string> available;   // in order, for messages
  for (const auto& [name, shape] : plan.inputs) {
    producer[name] = -1;
    available.push_back(name);
  }
  for (size_t index : plan.layers) {
    const LayerConfig& c = spec.layers[index];
    for (const auto& b : c.bottoms)
      if (!producer.count(b)) fail_missing_bottom(spec, plan, index, b, phase, available);
    std::set<std::string> own;
    for (const auto& t : c.tops) {
      if (!own.insert(t).second) c.fail_key("top", fmt::format("`{}` is listed twice", t));
      bool in_place = std::find(c.bottoms.begin(), c.bottoms.end(), t) != c.bottoms.end();
      auto it = producer.find(t);
      if (!in_place && it != producer.end()) {
        std::string by = it->second < 0
                             ? fmt::format("input `{}`", t)
                             : fmt::format("layer '{}' (line {})", spec.layers[it->second].name,
                                           line_of(spec.layers[it->second]));
        std::string in_phase = c.has("phase") || (it->second >= 0 &&
                                                  spec.layers[it->second].has("phase"))
                                   ? fmt::format(" in the {} phase", phase_name(phase))
                                   : "";
        c.fail_key("top", fmt::format("`{}` is already produced by {}{}; a blob is produced "
                                      "once, except in place (top equal to a bottom, as "
                                      "ReLU: {{bottom: x, top: x}})",
                                      t, by, in_phase));
      }
      if (phase == Phase::deploy && c.type == "Input" && t == "label") continue;
      if (it == producer.end()) available.push_back(t);
      producer[t] = static_cast<int>(index);
    }
  }
}

}  // namespace

NetSpec parse_net_spec(const std::string& text, const std::string& label,
                       const NetSpecOptions& options) {
  NetSpec spec;
  spec.file = label;
  spec.text = text;
  const YAML::Node root = load_yaml_string(text, label);
  if (!root.IsMap())
    fail_usage("{}: expected a network spec: a mapping with `name`, `input` and `layers`",
               yaml_position(label, root));
  for (const auto& item : root) {
    std::string key = item.first.Scalar();
    const auto& known = top_level_keys();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string hint = did_you_mean(key, known);
      fail_usage("{}: unknown key `{}`{}{}", yaml_position(label, item.first), key, hint,
                 hint.empty() ? " (a network spec has: " + join(known) + ")" : "");
    }
  }

  if (root["name"]) {
    if (!root["name"].IsScalar())
      fail_usage("{}: name: expected a string", yaml_position(label, root["name"]));
    spec.name = root["name"].Scalar();
  } else {
    spec.name = std::filesystem::path(label).stem().string();
  }
  if (root["description"] && !root["description"].IsScalar())
    fail_usage("{}: description: expected a string", yaml_position(label, root["description"]));
  if (root["classes"]) spec.classes = read_int(root["classes"], label, "classes", 1, kMaxClasses);
  if (options.classes > 0) spec.classes = options.classes;
  if (root["batch_size"])
    spec.batch_size = read_int(root["batch_size"], label, "batch_size", 1, kMaxBatch);
  if (root["val_batch_size"])
    spec.val_batch_size = read_int(root["val_batch_size"], label, "val_batch_size", 1, kMaxBatch);
  if (root["data_scale"]) {
    spec.data_scale = read_number(root["data_scale"], label, "data_scale");
    if (spec.data_scale <= 0)
      fail_usage("{}: data_scale: expected a number > 0, got {}",
                 yaml_position(label, root["data_scale"]), spec.data_scale);
  }

  if (YAML::Node input = root["input"]) {
    if (!input.IsMap())
      fail_usage("{}: input: expected a mapping of blob name to per-sample shape, such as "
                 "{{data: [1, 28, 28], label: []}}",
                 yaml_position(label, input));
    for (const auto& item : input) {
      std::string name = item.first.Scalar();
      check_name(name, label, item.first, "input");
      spec.inputs.emplace_back(name,
                               parse_sample_shape(item.second, label, "input `" + name + "`"));
    }
  }

  YAML::Node layers = root["layers"];
  if (!layers)
    fail_usage("{}: missing `layers`: the list of layers, in the order they run", label);
  if (!layers.IsSequence() || layers.size() == 0)
    fail_usage("{}: layers: expected a non-empty list of layers", yaml_position(label, layers));
  if (layers.size() > kMaxLayers)
    fail_usage("{}: layers: {} layers; at most {} are accepted", yaml_position(label, layers),
               layers.size(), kMaxLayers);

  std::map<std::string, size_t> names;  // layer name -> index
  bool has_input_layer = false;
  for (size_t i = 0; i < layers.size(); ++i) {
    YAML::Node node = layers[i];
    if (!node.IsMap())
      fail_usage("{}: layers[{}]: expected a mapping such as {{name: conv1, type: Convolution, "
                 "...}}, got {}",
                 yaml_position(label, node), i, node_text(node));
    LayerConfig c(node, label, static_cast<int>(i));
    if (!c.has("name")) c.fail_key(nullptr, "missing `name`");
    check_name(c.name, label, c.node("name"), "name");
    if (!c.has("type")) c.fail_key(nullptr, "missing `type`");
    const LayerType* type = find_layer_type(c.type);
    if (!type) {
      std::vector<std::string> known;
      for (const auto& t : layer_types()) known.push_back(t.name);
      c.fail_key("type", fmt::format("unknown layer type `{}`{} (known types: {})", c.type,
                                     did_you_mean(c.type, known), join(known)));
    }
    check_keys(label, c, *type);
    auto [it, inserted] = names.emplace(c.name, i);
    if (!inserted)
      c.fail_key("name", fmt::format("duplicate layer name `{}` (first used at line {}); layer "
                                     "names must be unique, they name the saved weights",
                                     c.name, line_of(spec.layers[it->second])));
    parse_phases(c);
    param_multipliers(c);
    if (c.has("loss_weight")) layer_loss_weight(c, true);
    for (const auto& item : node) {
      std::string key = item.first.Scalar();
      if (key == "name" || key == "type" || key == "bottom" || key == "top" || key == "phase")
        continue;
      check_numbers(label, c, item.second, key);
    }

    // `num_output: classes` takes the number of classes (resolved before any layer sees it).
    if (c.has("num_output") && c.node("num_output").IsScalar() &&
        c.node("num_output").Scalar() == "classes") {
      if (spec.classes <= 0)
        c.fail_key("num_output",
                   "`classes` stands for the number of classes, but neither the spec (top-level "
                   "`classes: N`) nor the job (its dataset) gives one");
      node["num_output"] = spec.classes;
      spec.uses_classes = true;
    }

    // Defaults: bottom = the previous layer's first top (the first input for the first layer);
    // top = the layer's name.
    if (c.type == "Input") {
      has_input_layer = true;
      if (c.has("bottom")) c.fail_key("bottom", "an Input layer has no bottom");
    } else if (!c.has("bottom")) {
      if (!spec.layers.empty()) c.bottoms = {spec.layers.back().tops.front()};
      else if (!spec.inputs.empty()) c.bottoms = {spec.inputs.front().first};
      else
        c.fail_key(nullptr, "no `bottom` given and no input or earlier layer to take it from");
    }
    if (!c.has("top")) c.tops = {c.name};
    if (c.tops.empty()) c.fail_key("top", "an empty list: a layer needs at least one top");
    for (const auto& b : c.bottoms) check_name(b, label, c.has("bottom") ? c.node("bottom") : node, "bottom");
    for (const auto& t : c.tops) check_name(t, label, c.has("top") ? c.node("top") : node, "top");
    if (c.type == "Input") {
      std::vector<Shape> shapes = input_layer_shapes(c);
      if (shapes.size() != c.tops.size())
        c.fail_key("shape", fmt::format("{} shape(s) for {} top(s); give one shape per top", shapes.size(),
                                        c.tops.size()));
    }
    spec.layers.push_back(c);
  }
  if (spec.inputs.empty() && !has_input_layer)
    fail_usage("{}: no inputs: declare them with `input:` (blob name -> per-sample shape, such as "
               "{{data: [1, 28, 28], label: []}}) or with an Input layer",
               label);

  for (Phase phase : {Phase::train, Phase::val, Phase::deploy}) check_phase(spec, phase);
  return spec;
}

NetSpec load_net_spec(const std::string& path, const NetSpecOptions& options) {
  return parse_net_spec(read_yaml_text(path), path, options);
}

// ---- finding standard networks ----------------------------------------------------------------

std::vector<std::string> network_search_dirs() {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("DIGITS_NETWORKS")) {
    std::string list = env;
    size_t begin = 0;
    while (begin <= list.size()) {
      size_t end = list.find(':', begin);
      if (end == std::string::npos) end = list.size();
      if (end > begin) candidates.push_back(list.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back((exe.parent_path() / ".." / "share" / "digits" / "networks").string());
  // This file is libdigits/nn/net_spec.cpp in the source tree (CMake compiles absolute paths).
  fs::path source = __FILE__;
  if (source.is_absolute())
    candidates.push_back(
        (source.parent_path().parent_path().parent_path() / "configs" / "networks").string());
  std::vector<std::string> dirs;
  for (const auto& dir : candidates) {
    fs::path normal = fs::path(dir).lexically_normal();
    if (fs::is_directory(normal, ec) &&
        std::find(dirs.begin(), dirs.end(), normal.string()) == dirs.end())
      dirs.push_back(normal.string());
  }
  return dirs;
}

std::string find_network(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  if (name_or_path.find('/') != std::string::npos)
    fail_usage("{}: no such network file", name_or_path);
  std::vector<std::string> dirs = network_search_dirs();
  std::vector<std::string> known;
  for (const auto& dir : dirs) {
    for (const std::string& candidate : {name_or_path, name_or_path + ".yaml"}) {
      fs::path p = fs::path(dir) / candidate;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".yaml") known.push_back(entry.path().stem().string());
  }
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  fail_usage("network `{}` not found: not a file, and not in {}{}{}", name_or_path,
             dirs.empty() ? "any network directory (set DIGITS_NETWORKS)" : join(dirs),
             did_you_mean(name_or_path, known),
             known.empty() ? "" : " (known networks: " + join(known) + ")");
}

}  // namespace digits
