// Solvers and learning-rate policies, with Caffe's formulas (so a DIGITS user's settings mean
// what they meant there).
//
// One training iteration, as Caffe's Solver::Step with iter_size = batch accumulation:
//   grads accumulate (+=) over `accumulation` forward/backward passes, then Solver::step():
//     g *= 1 / accumulation              (Caffe's Normalize)
//     g += weight_decay * decay_mult * w (Caffe's Regularize, L2)
//     update w and the history with the solver's rule at rate
//       lr = learning_rate(policy, base_lr, iteration, max_iter) * lr_mult
//     g = 0
// The update rules are written out in backend/cpu/solver_cpu.cpp. `iteration` counts completed
// updates from 0 (Caffe's iter_); Adam's bias correction uses t = iteration + 1.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor.h"

namespace digits {

enum class LrPolicyType { fixed, step, multistep, exp, inv, poly, sigmoid };

// Learning-rate policy; every parameter in Caffe's units (iterations, per-iteration gamma).
//   fixed      base_lr
//   step       base_lr * gamma ^ floor(iter / step_size)
//   multistep  base_lr * gamma ^ (number of stepvalues <= iter)
//   exp        base_lr * gamma ^ iter
//   inv        base_lr * (1 + gamma * iter) ^ -power
//   poly       base_lr * (1 - iter / max_iter) ^ power       (0 from max_iter on)
//   sigmoid    base_lr / (1 + exp(-gamma * (iter - step_size)))   (gamma < 0 decays)
struct LrPolicy {
  LrPolicyType type = LrPolicyType::fixed;
  double gamma = 0.1;
  double power = 1.0;
  int64_t step_size = 0;            // iterations (step, sigmoid)
  std::vector<int64_t> stepvalues;  // iterations, strictly increasing (multistep)
};

struct SolverConfig {
  SolverType type = SolverType::sgd;
  double base_lr = 0.01;
  double momentum = 0.9;     // sgd/nesterov momentum; adadelta rho; adam beta1
  double momentum2 = 0.999;  // adam beta2
  double rms_decay = 0.99;   // rmsprop
  double delta = 1e-8;       // adagrad, rmsprop, adadelta, adam stabilizer
  double weight_decay = 0.0; // L2
  LrPolicy lr_policy;
  int64_t max_iter = 0;      // total iterations of the run (poly; percentages in the spec)
};

const char* solver_type_name(SolverType type);    // "sgd", "nesterov", ...
const char* lr_policy_name(LrPolicyType type);    // "fixed", "step", ...
// Case-insensitive. Unknown names are usage errors listing the valid ones, with a "did you
// mean" hint; `where` prefixes the message ("job.yaml:7:9: solver.type").
SolverType parse_solver_type(const std::string& text, const std::string& where);
LrPolicyType parse_lr_policy_type(const std::string& text, const std::string& where);

// How many history buffers a solver keeps per parameter: 1, or 2 for adadelta and adam.
int solver_history_count(SolverType type);

// Checks every value the solver and policy use; throws a usage error naming the key
// ("solver.momentum: must be in [0, 1), got 1.2"). `where(key)` may prefix a position.
void validate_solver_config(const SolverConfig& config,
                            const std::function<std::string(const char* key)>& where = nullptr);

// Reads a job spec's `solver:` mapping (keys: type, base_lr, momentum, momentum2, rms_decay,
// delta, weight_decay, lr_policy: {type, gamma, power, step_size, stepvalues}), validates it,
// and errors on unknown keys with a did-you-mean hint. `lr_policy` may also be a plain policy
// name. `step_size` and `stepvalues` entries are iterations or percentages of max_iter ("33%",
// rounded up as DIGITS did). Defaults: sgd, base_lr 0.01, momentum 0.9, weight_decay
// base_lr / 100 (DIGITS's rule), policy step with step_size 33% and gamma 0.1; exp and sigmoid
// need an explicit gamma. An absent or null node gives the defaults.
SolverConfig parse_solver_config(const YAML::Node& node, const std::string& file,
                                 int64_t max_iter);

// The rate at `iter` (0-based count of completed updates).
double learning_rate(const LrPolicy& policy, double base_lr, int64_t iter, int64_t max_iter);

// A parameter the solver updates. The tensor is owned by the network; the solver only keeps a
// pointer (the net must outlive the solver).
struct SolverParam {
  std::string name;  // "conv1.weight": names the history in the solver state
  Tensor* value = nullptr;
  float lr_mult = 1.0f;     // 0 freezes the parameter
  float decay_mult = 1.0f;
  bool learnable = true;    // false: never touched (batch norm statistics)
};

class Solver {
 public:
  // One parameter's history: h1 (and h2 for adadelta/adam), shaped like the parameter, on the
  // backend's device, zero at the start.
  struct History {
    std::string name;  // the parameter's name
    Tensor h1;
    Tensor h2;         // empty (count 0) when the solver keeps one buffer
  };

  // Validates the config. History is kept for learnable parameters only (frozen ones too, so
  // unfreezing later keeps the state layout).
  Solver(const SolverConfig& config, std::vector<SolverParam> params, Backend& backend);

  // One update after `accumulation` accumulated passes (see the top of this file), then the
  // grads of every learnable parameter are zeroed. Afterwards iteration() == iteration + 1.
  void step(int64_t iteration, int accumulation);

  const SolverConfig& config() const { return config_; }
  const std::vector<SolverParam>& params() const { return params_; }
  Backend& backend() const { return *backend_; }

  // Completed updates; what a resumed run passes to its next step().
  int64_t iteration() const { return iteration_; }
  void set_iteration(int64_t iteration) { iteration_ = iteration; }
  // The rate the last step() used (the policy's rate before lr_mult); 0 before any step.
  double last_rate() const { return last_rate_; }

  // The state to save and restore (train/solver_state.h).
  std::vector<History>& history() { return history_; }
  const std::vector<History>& history() const { return history_; }

 private:
  SolverConfig config_;
  std::vector<SolverParam> params_;
  Backend* backend_;
  std::vector<History> history_;  // one per learnable param, in params_ order
  int64_t iteration_ = 0;
  double last_rate_ = 0.0;
};

}  // namespace digits
