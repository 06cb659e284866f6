// Learning-rate policies against values computed by hand from Caffe's formulas (solver.h).
#include <doctest/doctest.h>

#include "core/error.h"
#include "train/solver.h"

using namespace digits;

namespace {

double rate(LrPolicyType type, int64_t iter, double gamma = 0.1, double power = 1.0,
            int64_t step_size = 0, std::vector<int64_t> stepvalues = {}, int64_t max_iter = 0) {
  LrPolicy policy;
  policy.type = type;
  policy.gamma = gamma;
  policy.power = power;
  policy.step_size = step_size;
  policy.stepvalues = std::move(stepvalues);
  return learning_rate(policy, 0.01, iter, max_iter);
}

}  // namespace

TEST_CASE("fixed: always base_lr") {
  CHECK(rate(LrPolicyType::fixed, 0) == 0.01);
  CHECK(rate(LrPolicyType::fixed, 123456) == 0.01);
}

TEST_CASE("step: base * gamma ^ floor(iter / step_size)") {
  // step_size 10, gamma 0.1: iterations 0..9 at 0.01, 10..19 at 0.001, 25 at 0.0001.
  CHECK(rate(LrPolicyType::step, 0, 0.1, 1, 10) == doctest::Approx(0.01).epsilon(1e-12));
  CHECK(rate(LrPolicyType::step, 9, 0.1, 1, 10) == doctest::Approx(0.01).epsilon(1e-12));
  CHECK(rate(LrPolicyType::step, 10, 0.1, 1, 10) == doctest::Approx(0.001).epsilon(1e-12));
  CHECK(rate(LrPolicyType::step, 25, 0.1, 1, 10) == doctest::Approx(0.0001).epsilon(1e-12));
  // gamma 0.5, step 3: iteration 7 is floor(7/3) = 2 steps in: 0.01 * 0.25.
  CHECK(rate(LrPolicyType::step, 7, 0.5, 1, 3) == doctest::Approx(0.0025).epsilon(1e-12));
}

TEST_CASE("multistep: one gamma per step value reached (reached when iter >= value)") {
  std::vector<int64_t> steps = {5, 10};
  CHECK(rate(LrPolicyType::multistep, 0, 0.5, 1, 0, steps) == doctest::Approx(0.01));
  CHECK(rate(LrPolicyType::multistep, 4, 0.5, 1, 0, steps) == doctest::Approx(0.01));
  CHECK(rate(LrPolicyType::multistep, 5, 0.5, 1, 0, steps) == doctest::Approx(0.005));
  CHECK(rate(LrPolicyType::multistep, 9, 0.5, 1, 0, steps) == doctest::Approx(0.005));
  CHECK(rate(LrPolicyType::multistep, 10, 0.5, 1, 0, steps) == doctest::Approx(0.0025));
  CHECK(rate(LrPolicyType::multistep, 1000, 0.5, 1, 0, steps) == doctest::Approx(0.0025));
}

TEST_CASE("exp: base * gamma ^ iter") {
  // 0.01 * 0.9^2 = 0.0081; 0.01 * 0.99^100 = 0.0036603234127322950 (by hand: e^(100 ln 0.99)).
  CHECK(rate(LrPolicyType::exp, 0, 0.9) == doctest::Approx(0.01).epsilon(1e-12));
  CHECK(rate(LrPolicyType::exp, 2, 0.9) == doctest::Approx(0.0081).epsilon(1e-12));
  CHECK(rate(LrPolicyType::exp, 100, 0.99) == doctest::Approx(0.0036603234127322950).epsilon(1e-12));
}

TEST_CASE("inv: base * (1 + gamma * iter) ^ -power") {
  // Caffe's LeNet settings: gamma 1e-4, power 0.75. At 10000: 0.01 * 2^-0.75 = 0.005946035575013605.
  CHECK(rate(LrPolicyType::inv, 0, 1e-4, 0.75) == doctest::Approx(0.01).epsilon(1e-12));
  CHECK(rate(LrPolicyType::inv, 10000, 1e-4, 0.75) ==
        doctest::Approx(0.005946035575013605).epsilon(1e-12));
  // gamma 1, power 1, iter 3: 0.01 / 4.
  CHECK(rate(LrPolicyType::inv, 3, 1.0, 1.0) == doctest::Approx(0.0025).epsilon(1e-12));
}

TEST_CASE("poly: base * (1 - iter / max_iter) ^ power, zero from max_iter on") {
  CHECK(rate(LrPolicyType::poly, 0, 0, 2.0, 0, {}, 100) == doctest::Approx(0.01).epsilon(1e-12));
  CHECK(rate(LrPolicyType::poly, 50, 0, 2.0, 0, {}, 100) == doctest::Approx(0.0025).epsilon(1e-12));
  CHECK(rate(LrPolicyType::poly, 75, 0, 1.0, 0, {}, 100) == doctest::Approx(0.0025).epsilon(1e-12));
  CHECK(rate(LrPolicyType::poly, 100, 0, 2.0, 0, {}, 100) == 0.0);
  CHECK(rate(LrPolicyType::poly, 150, 0, 0.5, 0, {}, 100) == 0.0);
}

TEST_CASE("sigmoid: base / (1 + exp(-gamma * (iter - step_size)))") {
  // At the step the rate is half; gamma -0.1, 10 past the step: 0.01 / (1 + e) =
  // 0.002689414213699951; 10 before it: 0.01 / (1 + e^-1) = 0.007310585786300049.
  CHECK(rate(LrPolicyType::sigmoid, 50, -0.1, 1, 50) == doctest::Approx(0.005).epsilon(1e-12));
  CHECK(rate(LrPolicyType::sigmoid, 60, -0.1, 1, 50) ==
        doctest::Approx(0.002689414213699951).epsilon(1e-12));
  CHECK(rate(LrPolicyType::sigmoid, 40, -0.1, 1, 50) ==
        doctest::Approx(0.007310585786300049).epsilon(1e-12));
}

TEST_CASE("policy names parse case-insensitively; unknown ones suggest the closest") {
  CHECK(parse_lr_policy_type("Step", "x") == LrPolicyType::step);
  CHECK(parse_lr_policy_type("multistep", "x") == LrPolicyType::multistep);
  try {
    parse_lr_policy_type("stpe", "job.yaml:4:11: solver.lr_policy.type");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    std::string message = e.what();
    CHECK(message.find("job.yaml:4:11: solver.lr_policy.type") == 0);
    CHECK(message.find("did you mean \"step\"?") != std::string::npos);
    CHECK(message.find("fixed|step|multistep|exp|inv|poly|sigmoid") != std::string::npos);
  }
}
