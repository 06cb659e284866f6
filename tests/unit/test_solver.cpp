// Solvers: three steps of each against numbers computed from Caffe's formulas, accumulation,
// lr_mult/decay_mult, and config validation.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "train/solver.h"

using namespace digits;

namespace {

// The problem every solver runs: w0 = [1, -2, 0.5], gradients g1, g2, g3 for three steps,
// lr 0.1 (fixed), weight_decay 0.01.
const std::vector<float> kW0 = {1.0f, -2.0f, 0.5f};
const std::vector<std::vector<float>> kGrads = {
    {0.1f, -0.2f, 0.3f}, {0.2f, 0.1f, -0.1f}, {-0.3f, 0.05f, 0.2f}};

struct Expected {
  std::vector<float> w, h1, h2;  // after a step; h2 empty when not kept
};

// Tolerance: the solver runs in float, the expected values were computed in double.
void check_close(const std::vector<float>& got, const std::vector<float>& want, const char* what,
                 int step) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    double tolerance = 2e-6 + 2e-5 * std::abs(want[i]);
    INFO(what << "[" << i << "] after step " << step << ": got " << got[i] << ", want "
              << want[i]);
    CHECK(std::abs(got[i] - want[i]) <= tolerance);
  }
}

void run_three_steps(const SolverConfig& config, const std::vector<Expected>& expected) {
  Tensor w({3});
  w.set_data(kW0);
  Solver solver(config, {{"w", &w, 1.0f, 1.0f, true}}, cpu_backend());
  REQUIRE(solver.history().size() == 1);
  for (int step = 0; step < 3; ++step) {
    w.set_grad(kGrads[step]);
    solver.step(step, 1);
    check_close(w.host_data(), expected[step].w, "w", step + 1);
    check_close(solver.history()[0].h1.host_data(), expected[step].h1, "h1", step + 1);
    if (!expected[step].h2.empty())
      check_close(solver.history()[0].h2.host_data(), expected[step].h2, "h2", step + 1);
    CHECK(w.host_grad() == std::vector<float>(3, 0.0f));  // cleared for the next iteration
    CHECK(solver.iteration() == step + 1);
  }
}

SolverConfig base_config(SolverType type) {
  SolverConfig config;
  config.type = type;
  config.base_lr = 0.1;
  config.weight_decay = 0.01;
  config.lr_policy.type = LrPolicyType::fixed;
  return config;
}

}  // namespace

// Expected values: by hand for step 1 (shown), and for all steps by a short independent
// calculation in double of the same formulas (Python, in the order written in solver_cpu.cpp).

TEST_CASE("sgd: h = m h + lr (g + wd w); w -= h") {
  // Step 1, element 0: g = 0.1 + 0.01 * 1 = 0.11; h = 0.011; w = 0.989.
  SolverConfig config = base_config(SolverType::sgd);
  config.momentum = 0.9;
  run_three_steps(config, {
      {{0.989f, -1.978f, 0.4695f}, {0.011f, -0.022f, 0.0305f}, {}},
      {{0.958111f, -1.966222f, 0.4515805f}, {0.030889f, -0.011778f, 0.0179195f}, {}},
      {{0.959352789f, -1.95865558f, 0.41500137f}, {-0.001241789f, -0.007566422f, 0.0365791305f}, {}},
  });
}

TEST_CASE("nesterov: w -= (1 + m) h_new - m h_old") {
  // Step 1, element 0: h_new = 0.011, h_old = 0: w = 1 - 1.9 * 0.011 = 0.9791.
  SolverConfig config = base_config(SolverType::nesterov);
  config.momentum = 0.9;
  run_three_steps(config, {
      {{0.9791f, -1.9582f, 0.44205f}, {0.011f, -0.022f, 0.0305f}, {}},
      {{0.93032971f, -1.95565942f, 0.435505105f}, {0.0308791f, -0.0117582f, 0.01789205f}, {}},
      {{0.960550013f, -1.95191953f, 0.382185085f},
       {-0.00127848029f, -0.00753803942f, 0.0365383501f}, {}},
  });
}

TEST_CASE("adagrad: h += g^2; w -= lr g / (sqrt(h) + delta)") {
  // Step 1, element 0: g = 0.11, h = 0.0121, w = 1 - 0.1 * 0.11 / 0.11 = 0.9 (+ delta's 1e-8).
  SolverConfig config = base_config(SolverType::adagrad);
  config.delta = 1e-8;
  run_three_steps(config, {
      {{0.900000009f, -1.9f, 0.400000003f}, {0.0121f, 0.0484f, 0.093025f}, {}},
      {{0.811508191f, -1.93455077f, 0.430023321f}, {0.055781f, 0.054961f, 0.102241f}, {}},
      {{0.889246711f, -1.94751616f, 0.376181667f}, {0.140977805f, 0.0559006979f, 0.143979585f}, {}},
  });
}

TEST_CASE("rmsprop: h = d h + (1 - d) g^2; w -= lr g / (sqrt(h) + delta)") {
  // Step 1, element 0: h = 0.1 * 0.0121 = 0.00121, w = 1 - 0.1 * 0.11 / 0.034785 = 0.683772.
  SolverConfig config = base_config(SolverType::rmsprop);
  config.rms_decay = 0.9;
  config.delta = 1e-8;
  run_three_steps(config, {
      {{0.683772325f, -1.68377228f, 0.183772267f}, {0.00121f, 0.00484f, 0.0093025f}, {}},
      {{0.401442712f, -1.80082567f, 0.285366261f}, {0.00536718438f, 0.00504759644f, 0.00933583327f}, {}},
      {{0.655330268f, -1.84776495f, 0.104053225f}, {0.0135912119f, 0.00464518396f, 0.0125172108f}, {}},
  });
}

TEST_CASE("adadelta: Caffe's E[g^2] / E[dx^2] update") {
  // Step 1, element 0: h1 = 0.05 * 0.0121 = 0.000605; u = 0.11 * sqrt(1e-6 / 0.000606) =
  // 0.0044684; h2 = 0.05 u^2 = 9.9835e-7; w = 1 - 0.1 u = 0.99955316.
  SolverConfig config = base_config(SolverType::adadelta);
  config.momentum = 0.95;
  config.delta = 1e-6;
  run_three_steps(config, {
      {{0.999553156f, -1.99955288f, 0.499552834f}, {0.000605f, 0.00242f, 0.00465125f},
       {9.98349835e-07f, 9.99586948e-07f, 9.9978505e-07f}},
      {{0.998990203f, -1.9997739f, 0.499745333f}, {0.00277965616f, 0.00261903577f, 0.00486997998f},
       {2.53301296e-06f, 1.19385593e-06f, 1.13507432e-06f}},
      {{0.999648977f, -1.99986218f, 0.499380167f}, {0.0068459662f, 0.00253309077f, 0.00672767878f},
       {4.57628016e-06f, 1.17312716e-06f, 1.74505082e-06f}},
  });
}

TEST_CASE("adam: bias-corrected m / (sqrt(v) + eps)") {
  // Step 1, element 0: m = 0.011, v = 1.21e-5, correction sqrt(0.001) / 0.1;
  // w = 1 - 0.1 * 0.316228 * 0.011 / (0.0034785 + 1e-8) = 0.9000003.
  SolverConfig config = base_config(SolverType::adam);
  config.momentum = 0.9;
  config.momentum2 = 0.999;
  config.delta = 1e-8;
  run_three_steps(config, {
      {{0.900000287f, -1.90000014f, 0.400000104f}, {0.011f, -0.022f, 0.0305f},
       {1.21e-05f, 4.84e-05f, 9.3025e-05f}},
      {{0.802947751f, -1.86284644f, 0.358440087f}, {0.0308000003f, -0.0117000001f, 0.0178500001f},
       {5.57689012e-05f, 5.49125998e-05f, 0.000102147975f}},
      {{0.80546092f, -1.84286139f, 0.297015783f}, {-0.00147705199f, -0.00739284657f, 0.0364234402f},
       {0.000140959918f, 5.58418604e-05f, 0.000143492435f}},
  });
}

TEST_CASE("the policy's rate reaches the update") {
  // step policy, gamma 0.5 every 2 iterations, plain SGD without momentum or decay: the weight
  // moves by rate * g with rates 0.1, 0.1, 0.05.
  SolverConfig config = base_config(SolverType::sgd);
  config.momentum = 0;
  config.weight_decay = 0;
  config.lr_policy.type = LrPolicyType::step;
  config.lr_policy.gamma = 0.5;
  config.lr_policy.step_size = 2;
  Tensor w({1});
  w.set_data({0.0f});
  Solver solver(config, {{"w", &w, 1.0f, 1.0f, true}}, cpu_backend());
  for (int i = 0; i < 3; ++i) {
    w.set_grad({1.0f});
    solver.step(i, 1);
  }
  CHECK(w.host_data()[0] == doctest::Approx(-0.25f));
  CHECK(solver.last_rate() == doctest::Approx(0.05));
}

TEST_CASE("two accumulated half-batches update like one batch") {
  // Per half-batch gradients ga, gb (each normalized by its half); the full batch's gradient is
  // their mean. Backward passes add (+=) into the grad; step(…, 2) divides by 2.
  const std::vector<float> ga = {0.3f, -0.1f, 0.25f, 2.0f};
  const std::vector<float> gb = {-0.1f, 0.4f, 0.25f, -1.0f};
  for (SolverType type : {SolverType::sgd, SolverType::adam, SolverType::rmsprop}) {
    CAPTURE(solver_type_name(type));
    SolverConfig config = base_config(type);
    config.rms_decay = 0.9;
    Tensor accumulated({4}), whole({4});
    accumulated.set_data({1, 2, 3, 4});
    whole.set_data({1, 2, 3, 4});
    Solver solver_a(config, {{"w", &accumulated, 1.0f, 1.0f, true}}, cpu_backend());
    Solver solver_b(config, {{"w", &whole, 1.0f, 1.0f, true}}, cpu_backend());
    for (int iter = 0; iter < 3; ++iter) {
      accumulated.set_grad(ga);
      cpu_backend().axpy(4, 1.0f, gb.data(), accumulated.grad());  // the second pass's +=
      std::vector<float> mean(4);
      for (int i = 0; i < 4; ++i) mean[i] = (ga[i] + gb[i]) / 2;
      whole.set_grad(mean);
      solver_a.step(iter, 2);
      solver_b.step(iter, 1);
    }
    std::vector<float> a = accumulated.host_data(), b = whole.host_data();
    for (int i = 0; i < 4; ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-6));
    CHECK(a != std::vector<float>({1, 2, 3, 4}));
    CHECK(accumulated.host_grad() == std::vector<float>(4, 0.0f));
  }
}

TEST_CASE("lr_mult 0 freezes, lr_mult scales, decay_mult scales decay, non-learnable untouched") {
  SolverConfig config = base_config(SolverType::sgd);
  config.momentum = 0;
  config.weight_decay = 0.1;
  Tensor frozen({2}), doubled({1}), decayed({1}), stats({2});
  frozen.set_data({1.0f, 2.0f});
  doubled.set_data({0.0f});
  decayed.set_data({1.0f});
  stats.set_data({5.0f, 6.0f});
  Solver solver(config,
                {{"frozen", &frozen, 0.0f, 1.0f, true},
                 {"doubled", &doubled, 2.0f, 1.0f, true},
                 {"decayed", &decayed, 1.0f, 3.0f, true},
                 {"stats", &stats, 1.0f, 1.0f, false}},
                cpu_backend());
  CHECK(solver.history().size() == 3);  // no history for the non-learnable statistics
  frozen.set_grad({1.0f, -1.0f});
  doubled.set_grad({1.0f});
  decayed.set_grad({0.0f});
  solver.step(0, 1);
  CHECK(frozen.host_data() == std::vector<float>({1.0f, 2.0f}));
  CHECK(frozen.host_grad() == std::vector<float>({0.0f, 0.0f}));  // still cleared
  CHECK(solver.history()[0].h1.host_data() == std::vector<float>({0.0f, 0.0f}));
  // doubled: w = 0 - (0.1 * 2) * (1 + 0.1 * 0) = -0.2.
  CHECK(doubled.host_data()[0] == doctest::Approx(-0.2f));
  // decayed: g = 0 + (0.1 * 3) * 1 = 0.3; w = 1 - 0.1 * 0.3 = 0.97.
  CHECK(decayed.host_data()[0] == doctest::Approx(0.97f));
  CHECK(stats.host_data() == std::vector<float>({5.0f, 6.0f}));
}

TEST_CASE("solver config validation names the key and the valid range") {
  auto message_of = [](const SolverConfig& config) {
    try {
      validate_solver_config(config);
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SolverConfig ok;
  CHECK(message_of(ok) == "no error");

  SolverConfig c = ok;
  c.base_lr = -0.1;
  CHECK(message_of(c) == "solver.base_lr: must be positive, got -0.1");
  c = ok;
  c.momentum = 1.0;
  CHECK(message_of(c) == "solver.momentum: must be in [0, 1), got 1");
  c = ok;
  c.weight_decay = -1;
  CHECK(message_of(c) == "solver.weight_decay: must be >= 0, got -1");
  c = ok;
  c.type = SolverType::adam;
  c.momentum2 = 1.5;
  CHECK(message_of(c) == "solver.momentum2: must be in [0, 1), got 1.5");
  c = ok;
  c.type = SolverType::rmsprop;
  c.delta = 0;
  CHECK(message_of(c) == "solver.delta: must be positive, got 0");
  c = ok;
  c.lr_policy.type = LrPolicyType::step;
  c.lr_policy.step_size = 0;
  CHECK(message_of(c).find("solver.lr_policy.step_size: must be a positive number") == 0);
  c = ok;
  c.lr_policy.type = LrPolicyType::multistep;
  c.lr_policy.stepvalues = {10, 5};
  CHECK(message_of(c) ==
        "solver.lr_policy.stepvalues: values must be strictly increasing, got 5 after 10");
  c = ok;
  c.lr_policy.type = LrPolicyType::poly;
  c.max_iter = 0;
  CHECK(message_of(c).find("solver.lr_policy.type: the poly policy needs") == 0);
  // The Solver refuses an invalid config too.
  Tensor w({1});
  c = ok;
  c.base_lr = std::nan("");
  CHECK_THROWS_AS(Solver(c, {{"w", &w, 1.0f, 1.0f, true}}, cpu_backend()), Error);
}

TEST_CASE("solver spec from YAML: defaults, percentages, positions and did-you-mean") {
  // Defaults: sgd, 0.01, momentum 0.9, weight decay base_lr / 100, step at 33% by 0.1.
  SolverConfig defaults = parse_solver_config(YAML::Node(), "job.yaml", 300);
  CHECK(defaults.type == SolverType::sgd);
  CHECK(defaults.base_lr == 0.01);
  CHECK(defaults.weight_decay == doctest::Approx(0.0001));
  CHECK(defaults.lr_policy.type == LrPolicyType::step);
  CHECK(defaults.lr_policy.step_size == 99);
  CHECK(defaults.lr_policy.gamma == doctest::Approx(0.1));

  YAML::Node node = YAML::Load(
      "type: Adam\n"
      "base_lr: 0.001\n"
      "momentum2: 0.99\n"
      "lr_policy:\n"
      "  type: multistep\n"
      "  gamma: 0.5\n"
      "  stepvalues: [\"50%\", 180]\n");
  SolverConfig config = parse_solver_config(node, "job.yaml", 7);
  CHECK(config.type == SolverType::adam);
  CHECK(config.base_lr == 0.001);
  CHECK(config.momentum2 == 0.99);
  CHECK(config.weight_decay == doctest::Approx(0.00001));
  CHECK(config.lr_policy.type == LrPolicyType::multistep);
  CHECK(config.lr_policy.stepvalues == std::vector<int64_t>({4, 180}));  // ceil(3.5) = 4

  CHECK(parse_solver_config(YAML::Load("lr_policy: fixed"), "j", 0).lr_policy.type ==
        LrPolicyType::fixed);
  CHECK(parse_solver_config(YAML::Load("lr_policy: {type: step, step_size: 33%}"), "j", 1000)
            .lr_policy.step_size == 330);
  // A mapping without `type` tunes the default policy, step (digits-job(5)).
  SolverConfig untyped = parse_solver_config(YAML::Load("lr_policy: {gamma: 0.5}"), "j", 300);
  CHECK(untyped.lr_policy.type == LrPolicyType::step);
  CHECK(untyped.lr_policy.gamma == 0.5);
  CHECK(untyped.lr_policy.step_size == 99);

  auto message_of = [](const std::string& yaml, int64_t max_iter = 100) {
    try {
      parse_solver_config(YAML::Load(yaml), "job.yaml", max_iter);
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message_of("base_lr: 0.1\nmomentun: 0.5\n") ==
        "job.yaml:2:1: solver.momentun: unknown key (did you mean \"momentum\"?); valid keys: "
        "type, base_lr, momentum, momentum2, rms_decay, delta, weight_decay, lr_policy");
  CHECK(message_of("type: sgd\nlr_policy: {type: stpe}\n")
            .find("job.yaml:2:19: solver.lr_policy.type: unknown learning-rate policy \"stpe\"; "
                  "did you mean \"step\"?") == 0);
  CHECK(message_of("type: adamw\n").find("did you mean \"adam\"?") != std::string::npos);
  CHECK(message_of("base_lr: -1\n") == "job.yaml:1:10: solver.base_lr: must be positive, got -1");
  CHECK(message_of("base_lr: fast\n") ==
        "job.yaml:1:10: solver.base_lr: expected a number, got \"fast\"");
  CHECK(message_of("momentum: 1\n") == "job.yaml:1:11: solver.momentum: must be in [0, 1), got 1");
  CHECK(message_of("lr_policy: {type: exp}\n").find("solver.lr_policy.gamma: required") !=
        std::string::npos);
  CHECK(message_of("lr_policy: {type: step, step_size: 10%}\n", 0)
            .find("is a percentage of the run, but the run's length is unknown") !=
        std::string::npos);
  CHECK(message_of("lr_policy: {type: step, step_size: 2.5}\n")
            .find("expected a whole number of iterations") != std::string::npos);
  CHECK(message_of("lr_policy: {type: step, step_size: 10, gama: 0.5}\n")
            .find("did you mean \"lr_policy.gamma\"?") != std::string::npos);
}
