// LRN across channels: hand-computed values for the forward and the backward, the window's
// extent, independence of spatial positions (the op works in chunks of positions), gradient
// checks of the layer and spec errors. LRN within a channel: hand-computed values and a
// gradient check.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "backend/backend.h"
#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

void check_values(const std::vector<float>& actual, const std::vector<double>& expected,
                  const char* what) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO(what << " index " << i << ": got " << actual[i] << ", expected " << expected[i]);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  }
}

LrnParams lrn(int64_t size, float alpha, float beta, float k) {
  LrnParams p;
  p.size = size;
  p.alpha = alpha;
  p.beta = beta;
  p.k = k;
  return p;
}

}  // namespace

TEST_CASE("LRN forward: hand-computed values, beta 0.5") {
  // x = 1, 2, 3 over three channels; size 3, alpha 3 (alpha/size = 1), k 1, beta 0.5.
  // Windows: {0,1}, {0,1,2}, {1,2}: scale = 1 + (1+4), 1 + (1+4+9), 1 + (4+9) = 6, 15, 14.
  const std::vector<float> x = {1.0f, 2.0f, 3.0f};
  std::vector<float> scale(3), y(3);
  cpu_backend().lrn_forward(lrn(3, 3.0f, 0.5f, 1.0f), 1, 3, 1, 1, x.data(), scale.data(),
                            y.data());
  check_values(scale, {6, 15, 14}, "scale");
  check_values(y, {1 / std::sqrt(6.0), 2 / std::sqrt(15.0), 3 / std::sqrt(14.0)}, "y");
}

TEST_CASE("LRN forward and backward: hand-computed values, beta 0.75") {
  // Two channels x = 2, 3; size 3, alpha 3, k 3: both windows hold both channels, so
  // scale = 3 + 4 + 9 = 16 and scale^-0.75 = 1/8: y = 0.25, 0.375.
  const LrnParams p = lrn(3, 3.0f, 0.75f, 3.0f);
  const std::vector<float> x = {2.0f, 3.0f};
  std::vector<float> scale(2), y(2);
  cpu_backend().lrn_forward(p, 1, 2, 1, 1, x.data(), scale.data(), y.data());
  check_values(scale, {16, 16}, "scale");
  check_values(y, {0.25, 0.375}, "y");
  // dy = (1, 0): dx_d = dy/dx_d of y_0 = x_0 s^-beta:
  //   dx_0 = s^-0.75 - 0.75 * x_0 * s^-1.75 * (alpha/size) * 2 x_0 = 1/8 - 0.75*2*(1/128)*4
  //        = 0.125 - 0.046875 = 0.078125
  //   dx_1 = -0.75 * x_0 * s^-1.75 * 2 x_1 = -0.75 * 2 * (1/128) * 6 = -0.0703125
  const std::vector<float> dy = {1.0f, 0.0f};
  std::vector<float> dx(2);
  cpu_backend().lrn_backward(p, 1, 2, 1, 1, x.data(), y.data(), scale.data(), dy.data(),
                             dx.data());
  check_values(dx, {0.078125, -0.0703125}, "dx");
}

TEST_CASE("LRN window: size 5 is centred, two channels each side") {
  // One-hot at channel 2 of 7: the windows holding channel 2 are those of channels 0..4.
  std::vector<float> x(7, 0.0f);
  x[2] = 1.0f;
  std::vector<float> scale(7), y(7);
  cpu_backend().lrn_forward(lrn(5, 5.0f, 0.75f, 2.0f), 1, 7, 1, 1, x.data(), scale.data(),
                            y.data());
  check_values(scale, {3, 3, 3, 3, 3, 2, 2}, "scale");
  check_values(y, {0, 0, std::pow(3.0, -0.75), 0, 0, 0, 0}, "y");
}

TEST_CASE("LRN: spatial positions are independent (chunked work matches one position alone)") {
  // 2 images, 5 channels, 17x19 = 323 positions: more than one chunk of positions per image,
  // and enough work for the multi-threaded path.
  Rng rng(9);
  const int64_t n = 2, c = 6, h = 17, w = 19, spatial = h * w;
  for (float beta : {0.75f, 0.6f}) {
    const LrnParams p = lrn(5, 0.7f, beta, 1.5f);
    std::vector<float> x(n * c * spatial), dy(x.size());
    for (auto& v : x) v = rng.uniform(-2.0f, 2.0f);
    for (auto& v : dy) v = rng.uniform(-1.0f, 1.0f);
    std::vector<float> scale(x.size()), y(x.size()), dx(x.size());
    cpu_backend().lrn_forward(p, n, c, h, w, x.data(), scale.data(), y.data());
    cpu_backend().lrn_backward(p, n, c, h, w, x.data(), y.data(), scale.data(), dy.data(),
                               dx.data());
    for (int64_t b = 0; b < n; ++b)
      for (int64_t s = 0; s < spatial; s += 7) {
        std::vector<float> x1(c), dy1(c), scale1(c), y1(c), dx1(c);
        for (int64_t ch = 0; ch < c; ++ch) {
          x1[ch] = x[(b * c + ch) * spatial + s];
          dy1[ch] = dy[(b * c + ch) * spatial + s];
        }
        cpu_backend().lrn_forward(p, 1, c, 1, 1, x1.data(), scale1.data(), y1.data());
        cpu_backend().lrn_backward(p, 1, c, 1, 1, x1.data(), y1.data(), scale1.data(),
                                   dy1.data(), dx1.data());
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t at = (b * c + ch) * spatial + s;
          INFO("beta " << beta << " image " << b << " channel " << ch << " position " << s);
          CHECK(y[at] == y1[ch]);
          CHECK(scale[at] == scale1[ch]);
          CHECK(dx[at] == dx1[ch]);
        }
      }
  }
}

TEST_CASE("LRN layer: defaults, gradient checks") {
  SUBCASE("Caffe defaults: local_size 5, alpha 1, beta 0.75, k 1") {
    Rng rng(1);
    auto layer = make_test_layer("{name: norm, type: LRN}", rng);
    Tensor bottom({1, 5, 1, 1}), top;
    bottom.set_data({0.0f, 0.0f, 2.0f, 0.0f, 0.0f});
    layer->reshape({&bottom}, {&top});
    layer->forward({&bottom}, {&top});
    // Channel 2's window holds all five: scale = 1 + 1/5 * 4 = 1.8.
    CHECK(top.host_data()[2] == doctest::Approx(2.0 * std::pow(1.8, -0.75)));
    CHECK(layer->params().empty());
  }
  SUBCASE("AlexNet settings") {
    Rng rng(31);
    // alpha 1e-4 leaves scale close to 1; a larger alpha makes the cross-channel term count.
    auto layer = make_test_layer(
        "{name: norm, type: LRN, local_size: 3, alpha: 0.5, beta: 0.75, k: 2}", rng);
    Tensor bottom = random_tensor({2, 5, 3, 3}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
  SUBCASE("window wider than the channels, general beta") {
    Rng rng(32);
    auto layer = make_test_layer(
        "{name: norm, type: LRN, local_size: 5, alpha: 2, beta: 0.6, k: 1, norm_region: "
        "ACROSS_CHANNELS}",
        rng);
    Tensor bottom = random_tensor({1, 3, 4, 2}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
}

TEST_CASE("LRN layer within a channel: hand-computed values, gradient check") {
  // One 3x3 plane, x = 2 at (0,0) and 1 at (0,1), zeros elsewhere; local_size 3, alpha 9
  // (alpha / 3^2 = 1), beta 0.5. The 3x3 window sums of x^2 are 5 at (0,0), (0,1), (1,0),
  // (1,1) and 1 at (0,2), (1,2): scale = 1 + sum, so y(0,0) = 2/sqrt(6), y(0,1) = 1/sqrt(6).
  {
    Rng rng(1);
    auto layer = make_test_layer(
        "{name: n, type: LRN, norm_region: WITHIN_CHANNEL, local_size: 3, alpha: 9, beta: 0.5}",
        rng);
    Tensor bottom = make_tensor({1, 1, 3, 3}, {2, 1, 0, 0, 0, 0, 0, 0, 0}), top;
    layer->reshape({&bottom}, {&top});
    layer->forward({&bottom}, {&top});
    check_values(top.host_data(), {2 / std::sqrt(6.0), 1 / std::sqrt(6.0), 0, 0, 0, 0, 0, 0, 0},
                 "y");
    // dy = 1 at (0,2) only. y(0,2) = x(0,2) * factor(0,2) with x(0,2) = 0, so its gradient is
    // factor(0,2) = (1 + 1)^-0.5 at (0,2) and 0 elsewhere (the factor's own gradient is
    // multiplied by x(0,2) = 0).
    top.set_grad({0, 0, 1, 0, 0, 0, 0, 0, 0});
    layer->backward({&top}, {true}, {&bottom});
    check_values(bottom.host_grad(), {0, 0, 1 / std::sqrt(2.0), 0, 0, 0, 0, 0, 0}, "dx");
    // dy = 1 at (0,0): y(0,0) = x00 (1 + x00^2 + x01^2)^-0.5 (the window sum at (0,0) holds
    // (0,0), (0,1), (1,0), (1,1)); with s = 6: dx00 = s^-0.5 - x00^2 s^-1.5 = (6 - 4) / 6^1.5,
    // dx01 = -x00 x01 s^-1.5 = -2 / 6^1.5.
    top.set_grad({1, 0, 0, 0, 0, 0, 0, 0, 0});
    layer->backward({&top}, {true}, {&bottom});
    check_values(bottom.host_grad(),
                 {2 / std::pow(6.0, 1.5), -2 / std::pow(6.0, 1.5), 0, 0, 0, 0, 0, 0, 0}, "dx");
  }
  {
    Rng rng(33);
    auto layer = make_test_layer(
        "{name: n, type: LRN, norm_region: WITHIN_CHANNEL, local_size: 3, alpha: 2, beta: 0.75}",
        rng);
    Tensor bottom = random_tensor({2, 2, 4, 5}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
}

TEST_CASE("LRN layer: spec errors") {
  Rng rng(1);
  CHECK(error_message([&] {
          make_test_layer("{name: n, type: LRN, norm_region: WITHIN_CHANNEL, k: 2}", rng);
        }).find("k: Caffe's WITHIN_CHANNEL LRN ignores k") != std::string::npos);
  CHECK(error_message([&] { make_test_layer("{name: n, type: LRN, norm_region: ACROSS}", rng); })
            .find("expected ACROSS_CHANNELS or WITHIN_CHANNEL, got \"ACROSS\"") !=
        std::string::npos);
  CHECK(error_message([&] { make_test_layer("{name: n, type: LRN, local_size: 4}", rng); })
            .find("local_size: expected an odd number") != std::string::npos);
  CHECK(error_message([&] { make_test_layer("{name: n, type: LRN, k: 0}", rng); })
            .find("k > 0") != std::string::npos);
  auto layer = make_test_layer("{name: n, type: LRN}", rng);
  Tensor flat({2, 8}), top;
  CHECK(error_message([&] { layer->reshape({&flat}, {&top}); })
            .find("expected a 4-D bottom (N, C, H, W), got shape [2,8]") != std::string::npos);
}
