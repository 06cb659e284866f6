// Activation layers (ReLU, Sigmoid, TanH, ELU) and Power: known values, gradient checks,
// in-place equivalence, parameter validation.
#include <doctest/doctest.h>

#include <cmath>

#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

std::vector<float> forward_values(const std::string& yaml, const std::vector<float>& x) {
  Rng rng(1);
  auto layer = make_test_layer(yaml, rng);
  Tensor bottom = make_tensor({static_cast<int64_t>(x.size())}, x);
  Tensor top;
  layer->reshape({&bottom}, {&top});
  layer->forward({&bottom}, {&top});
  return top.host_data();
}

// Input gradient for dy = 1 everywhere.
std::vector<float> backward_values(const std::string& yaml, const std::vector<float>& x) {
  Rng rng(1);
  auto layer = make_test_layer(yaml, rng);
  Tensor bottom = make_tensor({static_cast<int64_t>(x.size())}, x);
  Tensor top;
  layer->reshape({&bottom}, {&top});
  layer->forward({&bottom}, {&top});
  top.set_grad(std::vector<float>(x.size(), 1.0f));
  layer->backward({&top}, {true}, {&bottom});
  return bottom.host_grad();
}

void check_values(const std::vector<float>& actual, const std::vector<double>& expected,
                  double tolerance = 1e-6) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("index " << i << ": got " << actual[i] << ", expected " << expected[i]);
    CHECK(std::fabs(actual[i] - expected[i]) <= tolerance * std::max(1.0, std::fabs(expected[i])));
  }
}

}  // namespace

TEST_CASE("ReLU: plain and leaky values; slope at the kink is the negative slope") {
  const std::vector<float> x = {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f};
  check_values(forward_values("{name: r, type: ReLU}", x), {0, 0, 0, 0.5, 3});
  check_values(forward_values("{name: r, type: ReLU, negative_slope: 0.1}", x),
               {-0.2, -0.05, 0, 0.5, 3});
  check_values(backward_values("{name: r, type: ReLU}", x), {0, 0, 0, 1, 1});
  check_values(backward_values("{name: r, type: ReLU, negative_slope: 0.1}", x),
               {0.1, 0.1, 0.1, 1, 1});
}

TEST_CASE("ELU, Sigmoid, TanH: known values, no overflow at the extremes") {
  const std::vector<float> x = {-2.0f, -1.0f, 0.0f, 2.0f};
  check_values(forward_values("{name: e, type: ELU}", x),
               {std::expm1(-2.0), std::expm1(-1.0), 0, 2});
  check_values(forward_values("{name: e, type: ELU, alpha: 0.5}", x),
               {0.5 * std::expm1(-2.0), 0.5 * std::expm1(-1.0), 0, 2});
  // d/dx alpha (e^x - 1) = alpha e^x; 1 for x > 0.
  check_values(backward_values("{name: e, type: ELU, alpha: 0.5}", x),
               {0.5 * std::exp(-2.0), 0.5 * std::exp(-1.0), 0.5, 1});
  check_values(forward_values("{name: s, type: Sigmoid}", {0.0f, 2.0f, -100.0f, 100.0f}),
               {0.5, 0.8807970779778823, 0.0, 1.0});
  check_values(backward_values("{name: s, type: Sigmoid}", {0.0f, 2.0f}),
               {0.25, 0.8807970779778823 * (1 - 0.8807970779778823)});
  check_values(forward_values("{name: t, type: TanH}", {0.5f, -0.5f, 30.0f}),
               {0.46211715726000974, -0.46211715726000974, 1.0});
  check_values(backward_values("{name: t, type: TanH}", {0.5f}),
               {1 - 0.46211715726000974 * 0.46211715726000974});
}

TEST_CASE("Power: (shift + scale * x) ^ power and its derivative") {
  check_values(forward_values("{name: p, type: Power, power: 2, scale: 3, shift: 1}", {2.0f, -1.0f}),
               {49, 4});
  check_values(backward_values("{name: p, type: Power, power: 2, scale: 3, shift: 1}", {2.0f}),
               {2 * 3 * 7});
  check_values(forward_values("{name: p, type: Power, power: 0.5}", {4.0f, 9.0f}), {2, 3});
  check_values(backward_values("{name: p, type: Power, power: 0.5}", {4.0f}), {0.25});
  // Defaults are the identity.
  check_values(forward_values("{name: p, type: Power}", {-1.5f, 2.0f}), {-1.5, 2});
  // power 0 is constant 1: zero gradient.
  check_values(backward_values("{name: p, type: Power, power: 0, shift: 2}", {5.0f}), {0});
}

TEST_CASE("activation gradients match central differences") {
  Rng rng(3);
  struct Case {
    std::string yaml;
    double kink_range;  // > 0: skip inputs this close to 0 (a kink)
  };
  const std::vector<Case> cases = {
      {"{name: relu, type: ReLU}", 0.02},
      {"{name: leaky, type: ReLU, negative_slope: 0.2}", 0.02},
      {"{name: sigmoid, type: Sigmoid}", -1},
      {"{name: tanh, type: TanH}", -1},
      {"{name: elu, type: ELU}", -1},  // alpha 1: derivative continuous at 0
      {"{name: elu_half, type: ELU, alpha: 0.5}", 0.02},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    auto layer = make_test_layer(c.yaml, rng);
    Tensor bottom = random_tensor({2, 3, 4, 5}, rng, -2.0f, 2.0f);
    Tensor top;
    GradientCheckOptions options;
    options.kink = 0.0;
    options.kink_range = c.kink_range;
    check_layer_gradients(*layer, {&bottom}, {&top}, options);
  }
}

TEST_CASE("Power gradients match central differences") {
  Rng rng(4);
  for (const char* yaml : {"{name: p, type: Power, power: 1.7, scale: 0.8, shift: 1.2}",
                           "{name: p, type: Power, power: 2, scale: -1.5, shift: 0.3}",
                           "{name: p, type: Power, power: 1, scale: 2.5, shift: -1}",
                           "{name: p, type: Power, power: -1, scale: 0.5, shift: 2}"}) {
    CAPTURE(yaml);
    auto layer = make_test_layer(yaml, rng);
    // x in [-1, 1): every base used above stays well away from 0.
    Tensor bottom = random_tensor({3, 4, 5}, rng);
    Tensor top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
}

TEST_CASE("in-place activations give the same output and gradient as out-of-place") {
  for (const char* yaml : {"{name: a, type: ReLU}", "{name: a, type: ReLU, negative_slope: 0.3}",
                           "{name: a, type: Sigmoid}", "{name: a, type: TanH}",
                           "{name: a, type: ELU, alpha: 0.7}"}) {
    CAPTURE(yaml);
    Rng rng(5);
    Tensor x = random_tensor({2, 3, 4, 4}, rng, -3.0f, 3.0f);
    Tensor dy = random_tensor({2, 3, 4, 4}, rng);
    auto separate = make_test_layer(yaml, rng);
    auto in_place = make_test_layer(yaml, rng);
    REQUIRE(in_place->supports_in_place());

    Tensor bottom = make_tensor(x.shape(), x.host_data());
    Tensor top;
    separate->reshape({&bottom}, {&top});
    separate->forward({&bottom}, {&top});
    top.set_grad(dy.host_data());
    separate->backward({&top}, {true}, {&bottom});

    Tensor blob = make_tensor(x.shape(), x.host_data());
    in_place->reshape({&blob}, {&blob});
    in_place->forward({&blob}, {&blob});
    CHECK(blob.host_data() == top.host_data());
    blob.set_grad(dy.host_data());
    in_place->backward({&blob}, {true}, {&blob});
    CHECK(blob.host_grad() == bottom.host_grad());
  }
}

TEST_CASE("activation parameters are validated with the layer and key named") {
  Rng rng(1);
  std::string message =
      error_message([&] { make_test_layer("{name: bad, type: ReLU, negative_slope: -0.1}", rng); });
  CHECK(message.find("layer 'bad' (ReLU)") != std::string::npos);
  CHECK(message.find("negative_slope") != std::string::npos);
  message = error_message([&] { make_test_layer("{name: e, type: ELU, alpha: -1}", rng); });
  CHECK(message.find("alpha") != std::string::npos);
  message = error_message([&] { make_test_layer("{name: p, type: Power, power: two}", rng); });
  CHECK(message.find("power") != std::string::npos);
}
