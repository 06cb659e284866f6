// Solver configuration, learning-rate policies and the Solver's step (formulas in solver.h).
#include "train/solver.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "nn/layer_config.h"

namespace digits {

namespace {

const std::vector<std::pair<SolverType, const char*>> kSolverNames = {
    {SolverType::sgd, "sgd"},           {SolverType::nesterov, "nesterov"},
    {SolverType::adagrad, "adagrad"},   {SolverType::rmsprop, "rmsprop"},
    {SolverType::adadelta, "adadelta"}, {SolverType::adam, "adam"},
};

const std::vector<std::pair<LrPolicyType, const char*>> kPolicyNames = {
    {LrPolicyType::fixed, "fixed"},         {LrPolicyType::step, "step"},
    {LrPolicyType::multistep, "multistep"}, {LrPolicyType::exp, "exp"},
    {LrPolicyType::inv, "inv"},             {LrPolicyType::poly, "poly"},
    {LrPolicyType::sigmoid, "sigmoid"},
};

std::string lower(const std::string& text) {
  std::string out = text;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Looks `text` up in a name table; the error lists the names and suggests the closest.
template <typename T>
T parse_name(const std::vector<std::pair<T, const char*>>& table, const std::string& text,
             const std::string& where, const char* what) {
  std::string key = lower(text);
  std::vector<std::string> names;
  std::string list;
  for (const auto& [value, name] : table) {
    if (key == name) return value;
    names.push_back(name);
    if (!list.empty()) list += '|';
    list += name;
  }
  std::string hint = closest_match(key, names);
  fail_usage("{}: unknown {} \"{}\"{} (expected {})", where, what, text,
             hint.empty() ? "" : fmt::format("; did you mean \"{}\"?", hint), list);
}

}  // namespace

const char* solver_type_name(SolverType type) {
  for (const auto& [value, name] : kSolverNames)
    if (value == type) return name;
  return "unknown";
}

const char* lr_policy_name(LrPolicyType type) {
  for (const auto& [value, name] : kPolicyNames)
    if (value == type) return name;
  return "unknown";
}

SolverType parse_solver_type(const std::string& text, const std::string& where) {
  return parse_name(kSolverNames, text, where, "solver type");
}

LrPolicyType parse_lr_policy_type(const std::string& text, const std::string& where) {
  return parse_name(kPolicyNames, text, where, "learning-rate policy");
}

int solver_history_count(SolverType type) {
  return (type == SolverType::adadelta || type == SolverType::adam) ? 2 : 1;
}

// ---- validation ----------------------------------------------------------------------------

void validate_solver_config(const SolverConfig& c,
                            const std::function<std::string(const char* key)>& where) {
  auto at = [&](const char* key) { return where ? where(key) : std::string("solver.") + key; };
  auto finite = [&](const char* key, double value) {
    if (!std::isfinite(value)) fail_usage("{}: must be a finite number, got {}", at(key), value);
  };
  // A value in [0, 1): momentum-like decay rates; 1 or more never forgets and diverges.
  auto unit_interval = [&](const char* key, double value) {
    finite(key, value);
    if (value < 0 || value >= 1) fail_usage("{}: must be in [0, 1), got {}", at(key), value);
  };

  finite("base_lr", c.base_lr);
  if (c.base_lr <= 0) fail_usage("{}: must be positive, got {}", at("base_lr"), c.base_lr);
  finite("weight_decay", c.weight_decay);
  if (c.weight_decay < 0)
    fail_usage("{}: must be >= 0, got {}", at("weight_decay"), c.weight_decay);

  switch (c.type) {
    case SolverType::sgd:
    case SolverType::nesterov: unit_interval("momentum", c.momentum); break;
    case SolverType::adagrad: break;
    case SolverType::rmsprop: unit_interval("rms_decay", c.rms_decay); break;
    case SolverType::adadelta: unit_interval("momentum", c.momentum); break;
    case SolverType::adam:
      unit_interval("momentum", c.momentum);
      unit_interval("momentum2", c.momentum2);
      break;
  }
  if (c.type != SolverType::sgd && c.type != SolverType::nesterov) {
    finite("delta", c.delta);
    if (c.delta <= 0) fail_usage("{}: must be positive, got {}", at("delta"), c.delta);
  }

  const LrPolicy& p = c.lr_policy;
  finite("lr_policy.gamma", p.gamma);
  finite("lr_policy.power", p.power);
  switch (p.type) {
    case LrPolicyType::fixed: break;
    case LrPolicyType::step:
      if (p.step_size <= 0)
        fail_usage("{}: must be a positive number of iterations for the step policy, got {}",
                   at("lr_policy.step_size"), p.step_size);
      [[fallthrough]];
    case LrPolicyType::exp:
    case LrPolicyType::inv:
      if (p.gamma < 0) fail_usage("{}: must be >= 0, got {}", at("lr_policy.gamma"), p.gamma);
      break;
    case LrPolicyType::multistep:
      if (p.gamma < 0) fail_usage("{}: must be >= 0, got {}", at("lr_policy.gamma"), p.gamma);
      if (p.stepvalues.empty())
        fail_usage("{}: the multistep policy needs at least one step value",
                   at("lr_policy.stepvalues"));
      for (size_t i = 0; i < p.stepvalues.size(); ++i) {
        if (p.stepvalues[i] < 0)
          fail_usage("{}: values must be >= 0, got {}", at("lr_policy.stepvalues"),
                     p.stepvalues[i]);
        if (i > 0 && p.stepvalues[i] <= p.stepvalues[i - 1])
          fail_usage("{}: values must be strictly increasing, got {} after {}",
                     at("lr_policy.stepvalues"), p.stepvalues[i], p.stepvalues[i - 1]);
      }
      break;
    case LrPolicyType::poly:
      if (c.max_iter <= 0)
        fail_usage("{}: the poly policy needs the run's total iterations (max_iter), got {}",
                   at("lr_policy.type"), c.max_iter);
      if (p.power < 0) fail_usage("{}: must be >= 0, got {}", at("lr_policy.power"), p.power);
      break;
    case LrPolicyType::sigmoid:
      // gamma < 0 decays (DIGITS's use), gamma > 0 warms up: both are valid.
      if (p.step_size <= 0)
        fail_usage("{}: must be a positive number of iterations for the sigmoid policy, got {}",
                   at("lr_policy.step_size"), p.step_size);
      break;
  }
}

// ---- YAML ----------------------------------------------------------------------------------

namespace {

class SpecReader {
 public:
  SpecReader(std::string file, int64_t max_iter) : file_(std::move(file)), max_iter_(max_iter) {}

  std::string at(const YAML::Node& node, const std::string& key) const {
    return yaml_position(file_, node) + ": solver." + key;
  }

  void check_keys(const YAML::Node& map, const std::string& prefix,
                  const std::vector<std::string>& allowed) const {
    for (const auto& entry : map) {
      std::string key = entry.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string hint = closest_match(key, allowed);
      std::string list;
      for (const auto& name : allowed) {
        if (!list.empty()) list += ", ";
        list += name;
      }
      fail_usage("{}: unknown key{}; valid keys: {}", at(entry.first, prefix + key),
                 hint.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", prefix + hint),
                 list);
    }
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail_usage("{}: expected a single value", at(node, key));
    return node.Scalar();
  }

  double number(const YAML::Node& node, const std::string& key) const {
    std::string text = scalar(node, key);
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(value))
      fail_usage("{}: expected a number, got \"{}\"", at(node, key), text);
    return value;
  }

  // An iteration count, or a percentage of max_iter ("33%"), rounded up like DIGITS.
  int64_t iterations(const YAML::Node& node, const std::string& key) const {
    std::string text = scalar(node, key);
    bool percent = !text.empty() && text.back() == '%';
    std::string digits = percent ? text.substr(0, text.size() - 1) : text;
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(digits, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != digits.size() || !std::isfinite(value) || value < 0 ||
        value > 1e15)
      fail_usage("{}: expected a number of iterations or a percentage like \"33%\", got \"{}\"",
                 at(node, key), text);
    if (percent) {
      if (max_iter_ <= 0)
        fail_usage("{}: \"{}\" is a percentage of the run, but the run's length is unknown",
                   at(node, key), text);
      if (value > 100) fail_usage("{}: a percentage must be at most 100%, got {}", at(node, key), text);
      return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(value * max_iter_ / 100.0)));
    }
    if (value != std::floor(value))
      fail_usage("{}: expected a whole number of iterations, got \"{}\"", at(node, key), text);
    return static_cast<int64_t>(value);
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  int64_t max_iter_;
};

}  // namespace

SolverConfig parse_solver_config(const YAML::Node& node, const std::string& file,
                                 int64_t max_iter) {
  SolverConfig config;
  config.max_iter = max_iter;
  config.lr_policy.type = LrPolicyType::step;
  config.lr_policy.gamma = 0.1;
  // Step down at a third of the run (DIGITS's default); without a known length, once per
  // 100000 iterations would be arbitrary, so the default policy is then fixed.
  if (max_iter > 0)
    config.lr_policy.step_size = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(33.0 * max_iter / 100.0)));
  else
    config.lr_policy.type = LrPolicyType::fixed;

  SpecReader reader(file, max_iter);
  // Positions for validation messages: the key's value node when present, else the mapping.
  // (Filled with emplace: assigning to a YAML::Node that is bound would overwrite the document.)
  std::map<std::string, YAML::Node> seen;
  YAML::Node policy_node;

  bool has_weight_decay = false;
  if (node && !node.IsNull()) {
    if (!node.IsMap())
      fail_usage("{}: solver: expected a mapping of solver settings", yaml_position(file, node));
    reader.check_keys(node, "", {"type", "base_lr", "momentum", "momentum2", "rms_decay",
                                 "delta", "weight_decay", "lr_policy"});
    for (const auto& entry : node) seen.emplace(entry.first.as<std::string>(), entry.second);
    if (node["type"])
      config.type = parse_solver_type(reader.scalar(node["type"], "type"),
                                      reader.at(node["type"], "type"));
    if (node["base_lr"]) config.base_lr = reader.number(node["base_lr"], "base_lr");
    if (node["momentum"]) config.momentum = reader.number(node["momentum"], "momentum");
    if (node["momentum2"]) config.momentum2 = reader.number(node["momentum2"], "momentum2");
    if (node["rms_decay"]) config.rms_decay = reader.number(node["rms_decay"], "rms_decay");
    if (node["delta"]) config.delta = reader.number(node["delta"], "delta");
    if (node["weight_decay"]) {
      config.weight_decay = reader.number(node["weight_decay"], "weight_decay");
      has_weight_decay = true;
    }
    if (node["lr_policy"]) policy_node = node["lr_policy"];
  }
  if (!has_weight_decay) config.weight_decay = config.base_lr / 100.0;

  LrPolicy& policy = config.lr_policy;
  if (policy_node && !policy_node.IsNull()) {
    YAML::Node type_node;
    if (policy_node.IsScalar()) {
      type_node = policy_node;
    } else if (policy_node.IsMap()) {
      reader.check_keys(policy_node, "lr_policy.",
                        {"type", "gamma", "power", "step_size", "stepvalues"});
      for (const auto& entry : policy_node)
        seen.emplace("lr_policy." + entry.first.as<std::string>(), entry.second);
      // Without `type` the mapping tunes the default policy (step; digits-job(5)), so that
      // `--set solver.lr_policy.gamma=0.5` works alone.
      type_node = policy_node["type"];
    } else {
      fail_usage("{}: solver.lr_policy: expected a policy name or a mapping",
                 yaml_position(file, policy_node));
    }
    if (type_node) {
      policy.type = parse_lr_policy_type(reader.scalar(type_node, "lr_policy.type"),
                                         reader.at(type_node, "lr_policy.type"));
      seen.emplace("lr_policy.type", type_node);
    }

    YAML::Node map = policy_node.IsMap() ? policy_node : YAML::Node();
    bool has_gamma = map && map["gamma"];
    if (has_gamma) policy.gamma = reader.number(map["gamma"], "lr_policy.gamma");
    if ((policy.type == LrPolicyType::exp || policy.type == LrPolicyType::sigmoid) && !has_gamma)
      fail_usage("{}: solver.lr_policy.gamma: required by the {} policy (per-iteration {})",
                 yaml_position(file, type_node), lr_policy_name(policy.type),
                 policy.type == LrPolicyType::exp ? "factor, e.g. 0.9999"
                                                  : "slope, negative to decay, e.g. -0.001");
    if (policy.type == LrPolicyType::inv && !has_gamma) policy.gamma = 1e-4;  // Caffe's LeNet
    policy.power = policy.type == LrPolicyType::inv ? 0.75 : 1.0;
    if (map && map["power"]) policy.power = reader.number(map["power"], "lr_policy.power");
    if (policy.type == LrPolicyType::sigmoid && max_iter > 0)
      policy.step_size = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(50.0 * max_iter / 100.0)));
    if (map && map["step_size"])
      policy.step_size = reader.iterations(map["step_size"], "lr_policy.step_size");
    if (map && map["stepvalues"]) {
      YAML::Node values = map["stepvalues"];
      if (values.IsScalar()) {
        policy.stepvalues = {reader.iterations(values, "lr_policy.stepvalues")};
      } else if (values.IsSequence()) {
        if (values.size() > 10000)
          fail_usage("{}: too many step values ({}, at most 10000)",
                     reader.at(values, "lr_policy.stepvalues"), values.size());
        for (const auto& value : values)
          policy.stepvalues.push_back(reader.iterations(value, "lr_policy.stepvalues"));
      } else {
        fail_usage("{}: expected a list of iterations or percentages",
                   reader.at(values, "lr_policy.stepvalues"));
      }
    }
  }

  validate_solver_config(config, [&](const char* key) {
    auto it = seen.find(key);
    if (it != seen.end()) return reader.at(it->second, key);
    if (node && !node.IsNull())
      return yaml_position(file, node) + ": solver." + key;
    return file + ": solver." + key;
  });
  return config;
}

// ---- learning rate -------------------------------------------------------------------------

double learning_rate(const LrPolicy& p, double base_lr, int64_t iter, int64_t max_iter) {
  const double t = static_cast<double>(iter);
  switch (p.type) {
    case LrPolicyType::fixed: return base_lr;
    case LrPolicyType::step: {
      DIGITS_CHECK(p.step_size > 0, "step policy with step_size {}", p.step_size);
      return base_lr * std::pow(p.gamma, static_cast<double>(iter / p.step_size));
    }
    case LrPolicyType::multistep: {
      // Caffe advances its step counter when iter reaches a step value; counting the values
      // already reached gives the same rate and needs no state to resume.
      int64_t reached = 0;
      for (int64_t value : p.stepvalues)
        if (iter >= value) ++reached;
      return base_lr * std::pow(p.gamma, static_cast<double>(reached));
    }
    case LrPolicyType::exp: return base_lr * std::pow(p.gamma, t);
    case LrPolicyType::inv: return base_lr * std::pow(1.0 + p.gamma * t, -p.power);
    case LrPolicyType::poly: {
      DIGITS_CHECK(max_iter > 0, "poly policy with max_iter {}", max_iter);
      // Caffe would raise a negative base to `power` past max_iter; the rate is 0 there.
      if (iter >= max_iter) return 0.0;
      return base_lr * std::pow(1.0 - t / static_cast<double>(max_iter), p.power);
    }
    case LrPolicyType::sigmoid:
      return base_lr / (1.0 + std::exp(-p.gamma * (t - static_cast<double>(p.step_size))));
  }
  fail_runtime("learning_rate: unknown policy {}", static_cast<int>(p.type));
}

// ---- Solver --------------------------------------------------------------------------------

Solver::Solver(const SolverConfig& config, std::vector<SolverParam> params, Backend& backend)
    : config_(config), params_(std::move(params)), backend_(&backend) {
  validate_solver_config(config_);
  std::set<std::string> names;
  const int buffers = solver_history_count(config_.type);
  for (const SolverParam& param : params_) {
    DIGITS_CHECK(param.value != nullptr, "solver parameter '{}' has no tensor", param.name);
    DIGITS_CHECK(names.insert(param.name).second, "solver parameter '{}' appears twice",
                 param.name);
    DIGITS_CHECK(std::isfinite(param.lr_mult) && std::isfinite(param.decay_mult),
                 "solver parameter '{}': lr_mult {} and decay_mult {} must be finite",
                 param.name, param.lr_mult, param.decay_mult);
    DIGITS_CHECK(param.value->device() == backend.device(),
                 "solver parameter '{}' is on {}, the backend on {}", param.name,
                 device_name(param.value->device()), device_name(backend.device()));
    if (!param.learnable) continue;
    History history;
    history.name = param.name;
    history.h1 = Tensor(param.value->shape(), backend.device());
    history.h1.zero_data();
    if (buffers == 2) {
      history.h2 = Tensor(param.value->shape(), backend.device());
      history.h2.zero_data();
    }
    history_.push_back(std::move(history));
  }
}

void Solver::step(int64_t iteration, int accumulation) {
  DIGITS_CHECK(accumulation >= 1, "batch accumulation {} must be at least 1", accumulation);
  DIGITS_CHECK(iteration >= 0, "iteration {} must be >= 0", iteration);
  const double rate = learning_rate(config_.lr_policy, config_.base_lr, iteration,
                                    config_.max_iter);
  size_t h = 0;
  for (const SolverParam& param : params_) {
    if (!param.learnable) continue;
    History& history = history_[h++];
    Tensor& value = *param.value;
    const int64_t n = value.count();
    DIGITS_CHECK(history.h1.count() == n, "parameter '{}' changed size ({} -> {})", param.name,
                 history.h1.count(), n);
    float* grad = value.grad();
    if (param.lr_mult != 0.0f && n > 0) {
      // Accumulated gradients are sums over `accumulation` passes; average them.
      if (accumulation > 1) backend_->scale(n, 1.0f / static_cast<float>(accumulation), grad);
      SolverStep step;
      step.type = config_.type;
      step.lr = static_cast<float>(rate * param.lr_mult);
      step.momentum = static_cast<float>(config_.momentum);
      step.momentum2 = static_cast<float>(config_.momentum2);
      step.rms_decay = static_cast<float>(config_.rms_decay);
      step.delta = static_cast<float>(config_.delta);
      step.weight_decay = static_cast<float>(config_.weight_decay * param.decay_mult);
      step.t = iteration + 1;
      backend_->solver_update(step, n, value.data(), grad, history.h1.data(),
                              history.h2.count() ? history.h2.data() : nullptr);
    }
    // Gradients accumulate (+=) across passes: clear them for the next iteration.
    if (n > 0) backend_->set(n, 0.0f, grad);
  }
  iteration_ = iteration + 1;
  last_rate_ = rate;
}

}  // namespace digits
