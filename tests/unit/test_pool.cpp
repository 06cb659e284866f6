// Pooling: Caffe's output-size rule, max and average pooling known answers computed by hand
// (borders, padding, the average divisor), backward routing, gradient checks of the layer, and
// spec errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "backend/backend.h"
#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

PoolShape pool_shape(Shape in, int64_t k, int64_t s, int64_t p, PoolMethod method) {
  PoolShape shape;
  shape.n = in[0];
  shape.c = in[1];
  shape.h = in[2];
  shape.w = in[3];
  shape.kh = shape.kw = k;
  shape.sh = shape.sw = s;
  shape.ph = shape.pw = p;
  shape.method = method;
  return shape;
}

void check_values(const std::vector<float>& actual, const std::vector<double>& expected,
                  const char* what) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO(what << " index " << i << ": got " << actual[i] << ", expected " << expected[i]);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  }
}

// x[i][j] = 6i + j: every value is its own flat index.
std::vector<float> ramp_6x6() {
  std::vector<float> x(36);
  std::iota(x.begin(), x.end(), 0.0f);
  return x;
}

}  // namespace

TEST_CASE("pool output size follows Caffe's ceil rule") {
  // 6x6, kernel 3, stride 2, pad 1: ceil((6 + 2 - 3) / 2) + 1 = ceil(2.5) + 1 = 4; the last
  // window starts at row 3*2 - 1 = 5, inside the input, so it stays.
  CHECK(pool_shape({1, 1, 6, 6}, 3, 2, 1, PoolMethod::max).out_h() == 4);
  // Floor would give 3 for 6x6, kernel 3, stride 2, no padding; ceil((6 - 3) / 2) + 1 = 3 too.
  CHECK(pool_shape({1, 1, 6, 6}, 3, 2, 0, PoolMethod::max).out_h() == 3);
  // 7x7, kernel 2, stride 2: ceil(5 / 2) + 1 = 4 (floor would give 3).
  CHECK(pool_shape({1, 1, 7, 7}, 2, 2, 0, PoolMethod::max).out_h() == 4);
  // 5x5, kernel 2, stride 2, pad 1: ceil(5 / 2) + 1 = 4, but the 4th window would start at
  // 3*2 - 1 = 5, in the bottom padding only: dropped, 3.
  CHECK(pool_shape({1, 1, 5, 5}, 2, 2, 1, PoolMethod::max).out_h() == 3);
  // AlexNet pool1: 55, kernel 3, stride 2 -> 27.
  CHECK(pool_shape({1, 1, 55, 55}, 3, 2, 0, PoolMethod::max).out_h() == 27);
}

TEST_CASE("max pooling: 6x6, kernel 3, stride 2, pad 1, hand-computed values and mask") {
  // Windows along each axis cover rows [-1,2) [1,4) [3,6) [5,8); inside the input the largest
  // index is 1, 3, 5, 5. On the ramp the maximum is at (largest row, largest column), and
  // the value equals its flat index, so the mask equals the output.
  const PoolShape s = pool_shape({1, 1, 6, 6}, 3, 2, 1, PoolMethod::max);
  const std::vector<float> x = ramp_6x6();
  std::vector<float> y(16), mask(16);
  cpu_backend().pool_forward(s, x.data(), y.data(), mask.data());
  const std::vector<double> expected = {7,  9,  11, 11, 19, 21, 23, 23,
                                        31, 33, 35, 35, 31, 33, 35, 35};
  check_values(y, expected, "y");
  check_values(mask, expected, "mask");

  // Backward with dy = 1: each input receives one per window it is the maximum of.
  std::vector<float> dy(16, 1.0f), dx(36, -7.0f), dx_no_mask(36, -7.0f);
  cpu_backend().pool_backward(s, x.data(), y.data(), dy.data(), mask.data(), dx.data());
  std::vector<double> expected_dx(36, 0.0);
  const int rows[4] = {1, 3, 5, 5};
  for (int oy = 0; oy < 4; ++oy)
    for (int ox = 0; ox < 4; ++ox) expected_dx[rows[oy] * 6 + rows[ox]] += 1.0;
  CHECK(expected_dx[35] == 4.0);  // the corner wins four windows
  check_values(dx, expected_dx, "dx");
  // Without a mask the argmax is recomputed from x: the same routing.
  cpu_backend().pool_backward(s, x.data(), y.data(), dy.data(), nullptr, dx_no_mask.data());
  check_values(dx_no_mask, expected_dx, "dx without mask");
}

TEST_CASE("max pooling: ties go to the first maximum in row-major order") {
  const PoolShape s = pool_shape({1, 1, 2, 2}, 2, 2, 0, PoolMethod::max);
  const std::vector<float> x = {1.0f, 5.0f, 5.0f, 2.0f};
  std::vector<float> y(1), mask(1), dy = {1.0f}, dx(4);
  cpu_backend().pool_forward(s, x.data(), y.data(), mask.data());
  CHECK(y[0] == 5.0f);
  CHECK(mask[0] == 1.0f);
  cpu_backend().pool_backward(s, x.data(), y.data(), dy.data(), nullptr, dx.data());
  check_values(dx, {0, 1, 0, 0}, "dx");
}

TEST_CASE("average pooling: divisor is the window clipped to the padded input") {
  // All ones, 6x6, kernel 3, stride 2, pad 1. Windows per axis: [-1,2) holds 2 real rows of a
  // 3-row window; [1,4) and [3,6) hold 3 of 3; [5,8) is clipped to the padded input [-1,7) as
  // [5,7): 1 real row of 2. Output = (real rows / rows) * (real cols / cols).
  const PoolShape s = pool_shape({1, 1, 6, 6}, 3, 2, 1, PoolMethod::average);
  const std::vector<float> ones(36, 1.0f);
  std::vector<float> y(16);
  cpu_backend().pool_forward(s, ones.data(), y.data(), nullptr);
  const double f[4] = {2.0 / 3.0, 1.0, 1.0, 0.5};
  std::vector<double> expected;
  for (int oy = 0; oy < 4; ++oy)
    for (int ox = 0; ox < 4; ++ox) expected.push_back(f[oy] * f[ox]);
  CHECK(expected[0] == doctest::Approx(4.0 / 9.0));   // top-left: 4 values / 9
  CHECK(expected[15] == doctest::Approx(1.0 / 4.0));  // bottom-right: 1 value / 4
  check_values(y, expected, "y");

  // On the ramp, the window at (1, 1) covers rows and columns 1..3: mean 6*2 + 2 = 14.
  std::vector<float> ramp_y(16);
  const std::vector<float> ramp = ramp_6x6();
  cpu_backend().pool_forward(s, ramp.data(), ramp_y.data(), nullptr);
  CHECK(ramp_y[5] == doctest::Approx(14.0));
  // At (3, 3) the window holds only x[5][5] = 35, divided by 2x2.
  CHECK(ramp_y[15] == doctest::Approx(35.0 / 4.0));

  // Backward with dy = 1: each input gets the sum of 1/divisor over the windows holding it,
  // which factors per axis: per-axis shares g = 1/3 (rows 0, 2, 4 are in one 3-row window;
  // rows 1 and 3 in two), and row 5 is in a 3-row and a 2-row window: 1/3 + 1/2.
  std::vector<float> dy(16, 1.0f), dx(36, -7.0f);
  cpu_backend().pool_backward(s, ones.data(), y.data(), dy.data(), nullptr, dx.data());
  const double g[6] = {1.0 / 3, 2.0 / 3, 1.0 / 3, 2.0 / 3, 1.0 / 3, 1.0 / 3 + 1.0 / 2};
  std::vector<double> expected_dx;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) expected_dx.push_back(g[i] * g[j]);
  CHECK(expected_dx[35] == doctest::Approx(25.0 / 36.0));  // 1/9 + 1/6 + 1/6 + 1/4
  check_values(dx, expected_dx, "dx");
}

TEST_CASE("pooling planes are independent: every (n, c) plane pools alone") {
  // Large enough to take the multi-threaded path; each plane is compared with pooling that
  // plane alone.
  Rng rng(5);
  for (PoolMethod method : {PoolMethod::max, PoolMethod::average}) {
    const PoolShape s = pool_shape({3, 5, 47, 47}, 3, 2, 1, method);
    const int64_t in_plane = s.h * s.w, out_plane = s.out_h() * s.out_w();
    std::vector<float> x(s.n * s.c * in_plane);
    for (auto& v : x) v = rng.uniform(-1.0f, 1.0f);
    std::vector<float> y(s.n * s.c * out_plane), dy(y.size()), dx(x.size());
    for (auto& v : dy) v = rng.uniform(-1.0f, 1.0f);
    cpu_backend().pool_forward(s, x.data(), y.data(), nullptr);
    cpu_backend().pool_backward(s, x.data(), y.data(), dy.data(), nullptr, dx.data());
    PoolShape one = s;
    one.n = one.c = 1;
    for (int64_t p = 0; p < s.n * s.c; p += 4) {
      std::vector<float> y1(out_plane), dx1(in_plane);
      cpu_backend().pool_forward(one, x.data() + p * in_plane, y1.data(), nullptr);
      cpu_backend().pool_backward(one, x.data() + p * in_plane, y1.data(),
                                  dy.data() + p * out_plane, nullptr, dx1.data());
      INFO(s.describe() << " plane " << p);
      CHECK(std::equal(y1.begin(), y1.end(), y.begin() + p * out_plane));
      CHECK(std::equal(dx1.begin(), dx1.end(), dx.begin() + p * in_plane));
    }
  }
}

TEST_CASE("Pooling layer: shapes, global pooling, mask top") {
  Rng rng(2);
  Tensor bottom({2, 3, 6, 6}), top, mask;
  auto layer = make_test_layer("{name: p, type: Pooling, pool: MAX, kernel_size: 3, stride: 2,"
                               " pad: 1}",
                               rng);
  layer->reshape({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 3, 4, 4});
  CHECK(layer->max_tops() == 2);
  layer->reshape({&bottom}, {&top, &mask});
  CHECK(mask.shape() == Shape{2, 3, 4, 4});
  std::vector<float> x(72 * 3);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 36);
  bottom.set_data(x);
  layer->forward({&bottom}, {&top, &mask});
  CHECK(mask.host_data()[15] == 35.0f);
  CHECK(top.host_data()[15] == 35.0f);

  auto global = make_test_layer("{name: g, type: Pooling, pool: ave, global_pooling: true}", rng);
  global->reshape({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 3, 1, 1});
  global->forward({&bottom}, {&top});
  for (float v : top.host_data()) CHECK(v == doctest::Approx(17.5));  // mean of 0..35
  CHECK(global->max_tops() == 1);

  auto rect = make_test_layer("{name: r, type: Pooling, kernel_h: 2, kernel_w: 3, stride_h: 2,"
                              " stride_w: 1}",
                              rng);
  rect->reshape({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 3, 3, 4});
}

TEST_CASE("Pooling layer: gradient checks") {
  SUBCASE("max, distinct values (no ties within a step)") {
    Rng rng(21);
    auto layer = make_test_layer(
        "{name: pool, type: Pooling, pool: MAX, kernel_size: 3, stride: 2, pad: 1}", rng);
    Tensor bottom({2, 2, 6, 5}), top;
    // A shuffled ramp with spacing 0.05: a step of 0.01 never changes a window's maximum.
    std::vector<float> x(bottom.count());
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.05f * static_cast<float>(i) - 3.0f;
    for (size_t i = x.size() - 1; i > 0; --i) std::swap(x[i], x[rng.below(i + 1)]);
    bottom.set_data(x);
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
  SUBCASE("average, padded, rectangular") {
    Rng rng(22);
    auto layer = make_test_layer(
        "{name: pool, type: Pooling, pool: AVE, kernel_h: 3, kernel_w: 2, stride: 2, pad_h: 1,"
        " pad_w: 1}",
        rng);
    Tensor bottom = random_tensor({2, 2, 7, 6}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
  SUBCASE("global average") {
    Rng rng(23);
    auto layer =
        make_test_layer("{name: pool, type: Pooling, pool: AVE, global_pooling: true}", rng);
    Tensor bottom = random_tensor({2, 3, 4, 5}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
}

TEST_CASE("Pooling layer: spec and shape errors") {
  Rng rng(1);
  Tensor top;
  CHECK(error_message([&] { make_test_layer("{name: p, type: Pooling, pool: MAX}", rng); })
            .find("missing required key `kernel_size`") != std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: p, type: Pooling, pool: MIN, kernel_size: 2}", rng);
        }).find("pool: expected one of MAX, AVE (or max, ave), got \"MIN\"") != std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: p, type: Pooling, pool: STOCHASTIC, kernel_size: 2}", rng);
        }).find("STOCHASTIC pooling is not supported") != std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: p, type: Pooling, kernel_size: 2, pad: 2}", rng);
        }).find("pad 2x2 must be smaller than the kernel 2x2") != std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: p, type: Pooling, global_pooling: true, kernel_size: 2}", rng);
        }).find("global_pooling uses the whole plane") != std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: p, type: Pooling, global_pooling: true, stride: 2}", rng);
        }).find("global_pooling needs stride 1 and pad 0") != std::string::npos);
  auto layer = make_test_layer("{name: p1, type: Pooling, kernel_size: 5, pad: 1}", rng);
  Tensor small({1, 2, 2, 9});
  const std::string message = error_message([&] { layer->reshape({&small}, {&top}); });
  INFO(message);
  CHECK(message.find("layer 'p1' (Pooling)") != std::string::npos);
  CHECK(message.find("kernel 5x5 is larger than the padded input 4x11 (bottom shape [1,2,2,9], "
                     "pad 1x1)") != std::string::npos);
}
