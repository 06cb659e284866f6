// BatchNorm and Scale: normalized statistics, the running-average formula, inference with
// running statistics, parameters, in-place equivalence, gradient checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

// (N, C, H, W) values with a different mean and spread per channel.
Tensor channel_data(Rng& rng, const Shape& shape) {
  Tensor t(shape);
  std::vector<float> v(t.count());
  const int64_t c = shape[1], spatial = t.count(2);
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t ch = static_cast<int64_t>(i / spatial) % c;
    v[i] = 3.0f * ch - 2.0f + (0.5f + ch) * static_cast<float>(rng.normal());
  }
  t.set_data(v);
  return t;
}

struct ChannelStats {
  std::vector<double> mean, var;  // var: biased
};

ChannelStats channel_stats(const Tensor& t) {
  const int64_t n = t.dim(0), c = t.dim(1), spatial = t.count(2);
  std::vector<float> v = t.host_data();
  ChannelStats s{std::vector<double>(c, 0.0), std::vector<double>(c, 0.0)};
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < spatial; ++i) s.mean[ch] += v[(b * c + ch) * spatial + i];
    s.mean[ch] /= double(n * spatial);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < spatial; ++i) {
        double d = v[(b * c + ch) * spatial + i] - s.mean[ch];
        s.var[ch] += d * d;
      }
    s.var[ch] /= double(n * spatial);
  }
  return s;
}

const Param& param_named(Layer& layer, const std::string& name) {
  auto& params = layer.params();
  auto it = std::find_if(params.begin(), params.end(), [&](const Param& p) { return p.name == name; });
  REQUIRE_MESSAGE(it != params.end(), "no param " << name);
  return *it;
}

}  // namespace

TEST_CASE("BatchNorm train: per-channel mean 0, variance 1; running stats by the momentum formula") {
  Rng rng(21);
  auto layer = make_test_layer(
      "{name: bn, type: BatchNorm, moving_average_fraction: 0.9, eps: 1e-5}", rng);
  Tensor x = channel_data(rng, {4, 3, 5, 5});
  Tensor y;
  layer->reshape({&x}, {&y});

  // Exactly the two statistics, not learnable, with zero learning rate and decay.
  REQUIRE(layer->params().size() == 2);
  CHECK(layer->params()[0].name == "running_mean");
  CHECK(layer->params()[1].name == "running_var");
  for (const auto& p : layer->params()) {
    CHECK_FALSE(p.learnable);
    CHECK(p.lr_mult == 0.0f);
    CHECK(p.decay_mult == 0.0f);
    CHECK(p.value.shape() == Shape{3});
  }
  CHECK(param_named(*layer, "running_mean").value.host_data() == std::vector<float>(3, 0.0f));
  CHECK(param_named(*layer, "running_var").value.host_data() == std::vector<float>(3, 1.0f));

  layer->forward({&x}, {&y});
  ChannelStats in = channel_stats(x), out = channel_stats(y);
  const double m = 4 * 5 * 5;
  for (int ch = 0; ch < 3; ++ch) {
    CAPTURE(ch);
    CHECK(std::fabs(out.mean[ch]) < 1e-5);
    CHECK(out.var[ch] == doctest::Approx(in.var[ch] / (in.var[ch] + 1e-5)).epsilon(1e-4));
  }
  // running = 0.9 * running + 0.1 * batch; the variance is the unbiased one.
  std::vector<float> running_mean = param_named(*layer, "running_mean").value.host_data();
  std::vector<float> running_var = param_named(*layer, "running_var").value.host_data();
  for (int ch = 0; ch < 3; ++ch) {
    CAPTURE(ch);
    CHECK(running_mean[ch] == doctest::Approx(0.1 * in.mean[ch]).epsilon(1e-5));
    CHECK(running_var[ch] == doctest::Approx(0.9 + 0.1 * in.var[ch] * m / (m - 1)).epsilon(1e-5));
  }
  // A second step folds in again.
  layer->forward({&x}, {&y});
  running_mean = param_named(*layer, "running_mean").value.host_data();
  CHECK(running_mean[2] == doctest::Approx(0.19 * in.mean[2]).epsilon(1e-5));
}

TEST_CASE("BatchNorm inference uses the running statistics") {
  Rng rng(22);
  Tensor x = channel_data(rng, {2, 2, 3, 3});
  for (const auto& [yaml, phase] :
       std::vector<std::pair<std::string, Phase>>{
           {"{name: bn, type: BatchNorm}", Phase::val},
           {"{name: bn, type: BatchNorm}", Phase::deploy},
           {"{name: bn, type: BatchNorm, use_global_stats: true}", Phase::train}}) {
    CAPTURE(yaml);
    INFO("phase " << phase_name(phase));
    auto layer = make_test_layer(yaml, rng, phase);
    Tensor y;
    layer->reshape({&x}, {&y});
    layer->params()[0].value.set_data({1.5f, -2.0f});
    layer->params()[1].value.set_data({4.0f, 0.25f});
    layer->forward({&x}, {&y});
    std::vector<float> in = x.host_data(), out = y.host_data();
    const float mean[2] = {1.5f, -2.0f}, var[2] = {4.0f, 0.25f};
    for (size_t i = 0; i < in.size(); ++i) {
      const int ch = static_cast<int>(i / 9) % 2;
      CHECK(out[i] == doctest::Approx((in[i] - mean[ch]) / std::sqrt(var[ch] + 1e-5)));
    }
    // Inference leaves the statistics alone.
    CHECK(layer->params()[0].value.host_data() == std::vector<float>{1.5f, -2.0f});
  }
}

TEST_CASE("BatchNorm gradients match central differences (batch and global statistics)") {
  Rng rng(23);
  for (const char* yaml :
       {"{name: bn, type: BatchNorm}", "{name: bn, type: BatchNorm, use_global_stats: true}"}) {
    CAPTURE(yaml);
    auto layer = make_test_layer(yaml, rng);
    Tensor x = channel_data(rng, {3, 2, 2, 3});
    Tensor y;
    layer->reshape({&x}, {&y});
    if (std::string(yaml).find("global") != std::string::npos) {
      layer->params()[0].value.set_data({0.5f, -1.0f});
      layer->params()[1].value.set_data({2.0f, 0.5f});
    }
    GradientCheckOptions options;
    options.step = 1e-3;  // the normalization amplifies: keep the step small
    check_layer_gradients(*layer, {&x}, {&y}, options);
  }
  // A 2-D bottom (N, C): statistics over the batch only.
  auto layer = make_test_layer("{name: bn, type: BatchNorm}", rng);
  Tensor x = random_tensor({6, 4}, rng, -2.0f, 2.0f);
  Tensor y;
  GradientCheckOptions options;
  options.step = 1e-3;
  check_layer_gradients(*layer, {&x}, {&y}, options);
}

TEST_CASE("BatchNorm and Scale in place give the same results as out of place") {
  for (const char* yaml : {"{name: bn, type: BatchNorm}",
                           "{name: sc, type: Scale, bias_term: true, filler: {type: uniform, "
                           "min: 0.5, max: 2}, bias_filler: {type: uniform}}"}) {
    CAPTURE(yaml);
    Rng data_rng(24);
    Tensor x = channel_data(data_rng, {2, 3, 4, 4});
    Tensor dy = random_tensor(x.shape(), data_rng);
    Rng rng_a(7), rng_b(7);  // same fillers in both layers
    auto separate = make_test_layer(yaml, rng_a);
    auto in_place = make_test_layer(yaml, rng_b);
    REQUIRE(in_place->supports_in_place());

    Tensor bottom = make_tensor(x.shape(), x.host_data());
    Tensor top;
    separate->reshape({&bottom}, {&top});
    separate->forward({&bottom}, {&top});
    top.set_grad(dy.host_data());
    for (auto& p : separate->params()) p.value.zero_grad();
    separate->backward({&top}, {true}, {&bottom});

    Tensor blob = make_tensor(x.shape(), x.host_data());
    in_place->reshape({&blob}, {&blob});
    in_place->forward({&blob}, {&blob});
    CHECK(blob.host_data() == top.host_data());
    blob.set_grad(dy.host_data());
    for (auto& p : in_place->params()) p.value.zero_grad();
    in_place->backward({&blob}, {true}, {&blob});
    CHECK(blob.host_grad() == bottom.host_grad());
    REQUIRE(separate->params().size() == in_place->params().size());
    for (size_t i = 0; i < separate->params().size(); ++i) {
      CHECK(separate->params()[i].value.host_data() == in_place->params()[i].value.host_data());
      if (separate->params()[i].learnable)
        CHECK(separate->params()[i].value.host_grad() == in_place->params()[i].value.host_grad());
    }
  }
}

TEST_CASE("BatchNorm rejects a bottom whose channel count changed, and bad settings") {
  Rng rng(25);
  auto layer = make_test_layer("{name: bn1, type: BatchNorm}", rng);
  Tensor x({2, 3, 2, 2}), wider({2, 4, 2, 2}), y;
  layer->reshape({&x}, {&y});
  std::string message = error_message([&] { layer->reshape({&wider}, {&y}); });
  CHECK(message.find("layer 'bn1' (BatchNorm)") != std::string::npos);
  CHECK(message.find("[2,4,2,2]") != std::string::npos);
  message = error_message(
      [&] { make_test_layer("{name: bn, type: BatchNorm, moving_average_fraction: 1.5}", rng); });
  CHECK(message.find("moving_average_fraction") != std::string::npos);
  message = error_message([&] { make_test_layer("{name: bn, type: BatchNorm, eps: 0}", rng); });
  CHECK(message.find("eps") != std::string::npos);
}

TEST_CASE("Scale: per-channel weight and bias, fillers, accumulated parameter grads") {
  Rng rng(26);
  auto layer = make_test_layer(
      "{name: sc, type: Scale, bias_term: true, filler: {type: constant, value: 2}, "
      "bias_filler: {type: constant, value: 0.5}}",
      rng);
  Tensor x = make_tensor({1, 2, 2}, {1, 2, 3, 4});
  Tensor y;
  layer->reshape({&x}, {&y});
  REQUIRE(layer->params().size() == 2);
  CHECK(layer->params()[0].name == "weight");
  CHECK(layer->params()[1].name == "bias");
  layer->forward({&x}, {&y});
  CHECK(y.host_data() == std::vector<float>{2.5f, 4.5f, 6.5f, 8.5f});
  layer->params()[0].value.set_data({1.0f, -1.0f});
  layer->forward({&x}, {&y});
  CHECK(y.host_data() == std::vector<float>{1.5f, 2.5f, -2.5f, -3.5f});

  // Backward twice without clearing: parameter grads add up (batch accumulation), dx does not.
  y.set_grad({1, 1, 1, 1});
  for (auto& p : layer->params()) p.value.zero_grad();
  layer->backward({&y}, {true}, {&x});
  layer->backward({&y}, {true}, {&x});
  CHECK(layer->params()[0].value.host_grad() == std::vector<float>{6, 14});  // 2 * (1+2), 2 * (3+4)
  CHECK(layer->params()[1].value.host_grad() == std::vector<float>{4, 4});
  CHECK(x.host_grad() == std::vector<float>{1, 1, -1, -1});

  // Defaults: weight 1, no bias.
  auto plain = make_test_layer("{name: sc, type: Scale}", rng);
  plain->reshape({&x}, {&y});
  REQUIRE(plain->params().size() == 1);
  plain->forward({&x}, {&y});
  CHECK(y.host_data() == x.host_data());
}

TEST_CASE("Scale gradients match central differences") {
  Rng rng(27);
  for (const char* yaml :
       {"{name: sc, type: Scale, bias_term: true, filler: {type: uniform, min: -2, max: 2}, "
        "bias_filler: {type: uniform}}",
        "{name: sc, type: Scale, axis: 2, filler: {type: gaussian}}"}) {
    CAPTURE(yaml);
    auto layer = make_test_layer(yaml, rng);
    Tensor x = random_tensor({2, 3, 4, 2}, rng);
    Tensor y;
    check_layer_gradients(*layer, {&x}, {&y});
  }
}
