// Dropout: keep rate within a binomial bound, the 1/(1-p) scale, a mask repeatable per
// (seed, layer, iteration) and fresh for the next iteration, identity outside training,
// in-place use, gradient check.
#include <doctest/doctest.h>

#include <cmath>

#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

// The dropout output for an all-ones input of n values.
std::vector<float> dropout_ones(const std::string& yaml, int64_t n, uint64_t iteration,
                                uint64_t seed = 1234, Phase phase = Phase::train) {
  Rng rng(1);
  auto layer = make_test_layer(yaml, rng, phase, seed);
  Tensor x = make_tensor({n}, std::vector<float>(n, 1.0f));
  Tensor y;
  layer->reshape({&x}, {&y});
  layer->set_iteration(iteration);
  layer->forward({&x}, {&y});
  return y.host_data();
}

int64_t differing(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t count = 0;
  for (size_t i = 0; i < a.size(); ++i) count += a[i] != b[i];
  return count;
}

}  // namespace

TEST_CASE("Dropout keeps 1 - p of the values, scaled by 1 / (1 - p)") {
  const int64_t n = 100000;
  for (double p : {0.3, 0.5, 0.9}) {
    CAPTURE(p);
    std::vector<float> y =
        dropout_ones("{name: drop, type: Dropout, dropout_ratio: " + std::to_string(p) + "}", n, 5);
    int64_t kept = 0, wrong_scale = 0;
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    for (float v : y) {
      if (v == 0.0f) continue;
      ++kept;
      wrong_scale += std::fabs(v - scale) > 1e-6f * scale;
    }
    CHECK(wrong_scale == 0);
    // Binomial(n, 1 - p): within 5 standard deviations.
    const double expected = n * (1.0 - p), sigma = std::sqrt(n * p * (1.0 - p));
    CHECK(std::fabs(kept - expected) < 5 * sigma);
  }
  // The default ratio is 0.5.
  std::vector<float> y = dropout_ones("{name: drop, type: Dropout}", n, 0);
  int64_t kept = 0;
  for (float v : y) kept += v == 2.0f;
  CHECK(std::fabs(kept - n * 0.5) < 5 * std::sqrt(n * 0.25));
}

TEST_CASE("Dropout mask: same for the same (seed, layer, iteration), new otherwise") {
  const std::string yaml = "{name: drop, type: Dropout}";
  const int64_t n = 4096;
  std::vector<float> first = dropout_ones(yaml, n, 7);
  CHECK(dropout_ones(yaml, n, 7) == first);
  // Each change should redraw about half the mask; far more than a handful must differ.
  CHECK(differing(dropout_ones(yaml, n, 8), first) > n / 4);
  CHECK(differing(dropout_ones(yaml, n, 7, 99), first) > n / 4);
  CHECK(differing(dropout_ones("{name: drop2, type: Dropout}", n, 7), first) > n / 4);

  // One layer, forwarded repeatedly: repeatable per iteration.
  Rng rng(1);
  auto layer = make_test_layer(yaml, rng);
  Rng data(2);
  Tensor x = random_tensor({8, 16}, data);
  Tensor y;
  layer->reshape({&x}, {&y});
  layer->set_iteration(3);
  layer->forward({&x}, {&y});
  std::vector<float> at3 = y.host_data();
  layer->set_iteration(4);
  layer->forward({&x}, {&y});
  CHECK(y.host_data() != at3);
  layer->set_iteration(3);
  layer->forward({&x}, {&y});
  CHECK(y.host_data() == at3);
}

TEST_CASE("Dropout is the identity in val and deploy phases, forward and backward") {
  Rng rng(3);
  Tensor x = random_tensor({4, 5}, rng);
  Tensor dy = random_tensor({4, 5}, rng);
  for (Phase phase : {Phase::val, Phase::deploy}) {
    INFO("phase " << phase_name(phase));
    auto layer = make_test_layer("{name: drop, type: Dropout, dropout_ratio: 0.8}", rng, phase);
    Tensor y;
    layer->reshape({&x}, {&y});
    layer->forward({&x}, {&y});
    CHECK(y.host_data() == x.host_data());
    y.set_grad(dy.host_data());
    layer->backward({&y}, {true}, {&x});
    CHECK(x.host_grad() == dy.host_data());
  }
  // A training layer switched to val by the net (validation during training).
  auto layer = make_test_layer("{name: drop, type: Dropout}", rng);
  Tensor y;
  layer->reshape({&x}, {&y});
  layer->forward({&x}, {&y});
  CHECK(y.host_data() != x.host_data());
  layer->set_phase(Phase::val);
  layer->forward({&x}, {&y});
  CHECK(y.host_data() == x.host_data());
}

TEST_CASE("Dropout backward passes the gradient through the kept values only") {
  Rng rng(4);
  auto layer = make_test_layer("{name: drop, type: Dropout, dropout_ratio: 0.4}", rng);
  Tensor x = random_tensor({3, 7, 5}, rng);
  Tensor y;
  layer->reshape({&x}, {&y});
  layer->forward({&x}, {&y});
  y.set_grad(std::vector<float>(y.count(), 1.0f));
  layer->backward({&y}, {true}, {&x});
  std::vector<float> in = x.host_data(), out = y.host_data(), dx = x.host_grad();
  for (size_t i = 0; i < in.size(); ++i) {
    // dx is the mask: out = in * mask.
    CHECK(out[i] == doctest::Approx(in[i] * dx[i]));
    CHECK((dx[i] == 0.0f || dx[i] == doctest::Approx(1.0 / 0.6)));
  }
  check_layer_gradients(*layer, {&x}, {&y});
}

TEST_CASE("Dropout in place matches out of place") {
  Rng rng(5);
  Tensor x = random_tensor({6, 10}, rng);
  Tensor dy = random_tensor({6, 10}, rng);
  auto separate = make_test_layer("{name: drop, type: Dropout}", rng);
  auto in_place = make_test_layer("{name: drop, type: Dropout}", rng);
  REQUIRE(in_place->supports_in_place());
  Tensor bottom = make_tensor(x.shape(), x.host_data()), top;
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

TEST_CASE("Dropout rejects a ratio outside [0, 1)") {
  Rng rng(6);
  for (const char* yaml : {"{name: d, type: Dropout, dropout_ratio: 1}",
                           "{name: d, type: Dropout, dropout_ratio: -0.1}"}) {
    std::string message = error_message([&] { make_test_layer(yaml, rng); });
    CHECK(message.find("layer 'd' (Dropout)") != std::string::npos);
    CHECK(message.find("dropout_ratio") != std::string::npos);
  }
}

TEST_CASE("cpu dropout_forward follows the counter-based contract") {
  // mask[i] = counter_uniform(seed, offset + i) >= ratio ? 1 / (1 - ratio) : 0.
  const int64_t n = 64;
  std::vector<float> x(n, 3.0f), mask(n), y(n);
  cpu_backend().dropout_forward(n, 0.25f, 42, 1000, x.data(), mask.data(), y.data());
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = counter_uniform(42, 1000 + i) >= 0.25f;
    CHECK(mask[i] == (keep ? 1.0f / 0.75f : 0.0f));
    CHECK(y[i] == 3.0f * mask[i]);
  }
}
