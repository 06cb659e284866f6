// Convolution: the CPU backend ops (forward, backward data, backward filter) and the layer.
//  - known answer: Sobel filters over a ramp image, hand-computed, padding included;
//  - a direct 7-loop convolution (and its loop-by-loop adjoint for the gradients) over a grid of
//    shapes: stride, padding, dilation, groups, 1x1, one image and several, with guard zones
//    after every output to catch out-of-bounds writes;
//  - backward_filter accumulates (+=);
//  - gradient checks of the layer; spec and shape errors.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

// Sums of a few hundred float products, compared against a double-precision loop: float
// rounding is about 1e-7 relative per term, so 1e-5 of the largest magnitude is generous while a
// single misplaced term (size ~0.1..1) fails.
constexpr double kTolerance = 1e-5;
constexpr float kGuard = 12345.0f;  // written past every output; must survive the op
constexpr int64_t kGuardFloats = 64;

std::vector<float> random_values(int64_t n, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

int64_t x_index(const ConvShape& s, int64_t b, int64_t c, int64_t y, int64_t x) {
  return ((b * s.c + c) * s.h + y) * s.w + x;
}

// The direct definition: y[b,k,oy,ox] = bias[k] + sum over the group's input channels ci and
// kernel taps (i, j) of w[k,ci,i,j] * x[b, g*Cg+ci, oy*sh-ph+i*dh, ox*sw-pw+j*dw] (zero outside).
std::vector<double> direct_forward(const ConvShape& s, const std::vector<float>& x,
                                   const std::vector<float>& w, const float* bias) {
  const int64_t oh = s.out_h(), ow = s.out_w(), cg = s.c / s.groups, kg = s.k / s.groups;
  std::vector<double> y(static_cast<size_t>(s.n * s.k * oh * ow));
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t k = 0; k < s.k; ++k)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double sum = bias ? bias[k] : 0.0;
          const int64_t g = k / kg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t i = 0; i < s.kh; ++i)
              for (int64_t j = 0; j < s.kw; ++j) {
                const int64_t iy = oy * s.sh - s.ph + i * s.dh, ix = ox * s.sw - s.pw + j * s.dw;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                sum += double(w[((k * cg + ci) * s.kh + i) * s.kw + j]) *
                       x[x_index(s, b, g * cg + ci, iy, ix)];
              }
          y[((b * s.k + k) * oh + oy) * ow + ox] = sum;
        }
  return y;
}

// The same loops run backwards: every product w*x of the forward sends dy*w to dx and dy*x to dw.
void direct_backward(const ConvShape& s, const std::vector<float>& x, const std::vector<float>& w,
                     const std::vector<float>& dy, std::vector<double>* dx,
                     std::vector<double>* dw, std::vector<double>* dbias) {
  const int64_t oh = s.out_h(), ow = s.out_w(), cg = s.c / s.groups, kg = s.k / s.groups;
  dx->assign(x.size(), 0.0);
  dw->assign(w.size(), 0.0);
  dbias->assign(static_cast<size_t>(s.k), 0.0);
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t k = 0; k < s.k; ++k)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          const double g_out = dy[((b * s.k + k) * oh + oy) * ow + ox];
          (*dbias)[k] += g_out;
          const int64_t g = k / kg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t i = 0; i < s.kh; ++i)
              for (int64_t j = 0; j < s.kw; ++j) {
                const int64_t iy = oy * s.sh - s.ph + i * s.dh, ix = ox * s.sw - s.pw + j * s.dw;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                const int64_t wi = ((k * cg + ci) * s.kh + i) * s.kw + j;
                const int64_t xi = x_index(s, b, g * cg + ci, iy, ix);
                (*dx)[xi] += g_out * w[wi];
                (*dw)[wi] += g_out * x[xi];
              }
        }
}

// Compares `actual` (with kGuardFloats guard values after it) to `expected`.
void check_close(const std::string& what, const std::vector<float>& actual,
                 const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size() + kGuardFloats);
  double largest = 1.0;
  for (double e : expected) largest = std::max(largest, std::fabs(e));
  double worst = 0;
  size_t worst_index = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double err = std::fabs(actual[i] - expected[i]);
    if (err > worst) {
      worst = err;
      worst_index = i;
    }
  }
  INFO(what << ": worst error " << worst << " at index " << worst_index << " (got "
            << actual[worst_index] << ", expected " << expected[worst_index] << ")");
  CHECK(worst <= kTolerance * largest);
  for (int64_t i = 0; i < kGuardFloats; ++i) {
    INFO(what << ": guard value " << i << " past the end was overwritten");
    REQUIRE(actual[expected.size() + i] == kGuard);
  }
}

ConvShape conv_shape(Shape in, int64_t k, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                     int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups) {
  ConvShape s;
  s.n = in[0];
  s.c = in[1];
  s.h = in[2];
  s.w = in[3];
  s.k = k;
  s.kh = kh;
  s.kw = kw;
  s.sh = sh;
  s.sw = sw;
  s.ph = ph;
  s.pw = pw;
  s.dh = dh;
  s.dw = dw;
  s.groups = groups;
  return s;
}

// Runs the three backend ops on random data and compares them with the direct loops.
void check_against_direct(const ConvShape& s, bool with_bias, uint64_t seed) {
  const std::string what = s.describe() + (with_bias ? " bias" : " no bias");
  Rng rng(seed);
  const int64_t oh = s.out_h(), ow = s.out_w();
  const std::vector<float> x = random_values(s.n * s.c * s.h * s.w, rng);
  const std::vector<float> w = random_values(s.k * (s.c / s.groups) * s.kh * s.kw, rng);
  const std::vector<float> bias = random_values(s.k, rng);
  const std::vector<float> dy = random_values(s.n * s.k * oh * ow, rng);
  Backend& cpu = cpu_backend();

  std::vector<float> y(dy.size() + kGuardFloats, kGuard);
  cpu.conv_forward(s, x.data(), w.data(), with_bias ? bias.data() : nullptr, y.data());
  check_close(what + " forward", y, direct_forward(s, x, w, with_bias ? bias.data() : nullptr));

  std::vector<double> dx_ref, dw_ref, dbias_ref;
  direct_backward(s, x, w, dy, &dx_ref, &dw_ref, &dbias_ref);
  // dx is overwritten: start it with garbage.
  std::vector<float> dx(x.size() + kGuardFloats, kGuard);
  cpu.conv_backward_data(s, w.data(), dy.data(), dx.data());
  check_close(what + " backward data", dx, dx_ref);

  std::vector<float> dw(w.size() + kGuardFloats, kGuard), dbias(bias.size() + kGuardFloats,
                                                                 kGuard);
  std::fill_n(dw.begin(), w.size(), 0.0f);
  std::fill_n(dbias.begin(), bias.size(), 0.0f);
  cpu.conv_backward_filter(s, x.data(), dy.data(), dw.data(), with_bias ? dbias.data() : nullptr);
  check_close(what + " backward filter", dw, dw_ref);
  if (with_bias) check_close(what + " backward bias", dbias, dbias_ref);
}

}  // namespace

TEST_CASE("conv forward: Sobel filters on a ramp image, hand-computed, with padding") {
  // x[i][j] = j^2 on a 4x4 image; kernels Sobel-x and Sobel-y (cross-correlation, as Caffe),
  // pad 1, bias 0.5 and -1.
  ConvShape s = conv_shape({1, 1, 4, 4}, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  std::vector<float> x(16);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) x[i * 4 + j] = static_cast<float>(j * j);
  const std::vector<float> w = {-1, 0, 1, -2, 0, 2, -1, 0, 1,    // Sobel-x
                                -1, -2, -1, 0, 0, 0, 1, 2, 1};  // Sobel-y
  const std::vector<float> bias = {0.5f, -1.0f};
  std::vector<float> y(32);
  cpu_backend().conv_forward(s, x.data(), w.data(), bias.data(), y.data());
  // Sobel-x: 4 * (x[j+1] - x[j-1]) where all three rows are inside, 3 * (...) on the top and
  // bottom rows (one row is padding); x[-1] = x[4] = 0 (padding). Differences: 1, 4, 8, -4.
  // Sobel-y: rows above and below cancel inside; on the top row only the row below counts,
  // (x[j-1] + 2x[j] + x[j+1]) = 1, 6, 18, 22; the bottom row is its negative.
  const std::vector<float> expected = {
      3.5f, 12.5f, 24.5f, -11.5f,  4.5f, 16.5f, 32.5f, -15.5f,
      4.5f, 16.5f, 32.5f, -15.5f,  3.5f, 12.5f, 24.5f, -11.5f,
      0.0f, 5.0f,  17.0f, 21.0f,   -1.0f, -1.0f, -1.0f, -1.0f,
      -1.0f, -1.0f, -1.0f, -1.0f,  -2.0f, -7.0f, -19.0f, -23.0f};
  for (size_t i = 0; i < y.size(); ++i) {
    INFO("output " << i << ": got " << y[i] << ", expected " << expected[i]);
    CHECK(y[i] == expected[i]);
  }
}

TEST_CASE("conv ops match the direct convolution over a grid of shapes") {
  // in, k, kernel, stride, pad, dilation, groups. Batches of 1 run the serial path (one
  // multi-threaded GEMM at a time), larger batches the image-parallel path.
  const std::vector<ConvShape> grid = {
      conv_shape({2, 3, 7, 7}, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1),
      conv_shape({2, 4, 7, 7}, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2),
      conv_shape({1, 3, 6, 6}, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1),
      conv_shape({3, 3, 9, 8}, 2, 3, 2, 2, 1, 1, 0, 2, 1, 1),
      conv_shape({2, 3, 11, 11}, 5, 5, 5, 3, 3, 2, 2, 2, 2, 1),
      conv_shape({4, 6, 5, 5}, 6, 3, 3, 1, 1, 1, 1, 1, 1, 3),
      conv_shape({3, 6, 5, 5}, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),     // depthwise
      conv_shape({3, 4, 5, 6}, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1),     // 1x1: no im2col
      conv_shape({1, 4, 5, 6}, 8, 1, 1, 1, 1, 0, 0, 1, 1, 2),     // 1x1 grouped, one image
      conv_shape({2, 4, 6, 6}, 3, 1, 1, 2, 2, 0, 0, 1, 1, 1),     // 1x1 strided: im2col
      conv_shape({2, 2, 5, 5}, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     // 1x1 padded: im2col
      conv_shape({2, 3, 8, 9}, 4, 5, 5, 1, 1, 2, 2, 1, 1, 1),
      conv_shape({5, 2, 4, 4}, 3, 4, 4, 1, 1, 0, 0, 1, 1, 1),     // kernel = image: 1x1 out
      conv_shape({2, 3, 13, 13}, 4, 11, 11, 4, 4, 0, 0, 1, 1, 1), // AlexNet conv1 style
      conv_shape({2, 2, 5, 7}, 2, 3, 3, 3, 2, 2, 3, 1, 2, 1),     // pad wider than stride
      // Large im2col matrices are taken in chunks of output rows: 24 rows as 10+10+4, and 23
      // as 11+11+1.
      conv_shape({2, 16, 24, 24}, 4, 5, 5, 1, 1, 2, 2, 1, 1, 2),
      conv_shape({1, 8, 45, 45}, 3, 7, 7, 2, 2, 3, 3, 1, 1, 1),
  };
  uint64_t seed = 100;
  for (const ConvShape& s : grid) {
    check_against_direct(s, true, seed++);
    check_against_direct(s, false, seed++);
  }
}

TEST_CASE("conv backward_filter accumulates into dw and dbias") {
  const ConvShape s = conv_shape({3, 4, 6, 6}, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2);
  Rng rng(7);
  const std::vector<float> x = random_values(s.n * s.c * s.h * s.w, rng);
  const std::vector<float> dy = random_values(s.n * s.k * s.out_h() * s.out_w(), rng);
  const int64_t w_count = s.k * (s.c / s.groups) * s.kh * s.kw;
  std::vector<float> once(w_count, 0.0f), once_bias(s.k, 0.0f);
  cpu_backend().conv_backward_filter(s, x.data(), dy.data(), once.data(), once_bias.data());
  std::vector<float> twice(w_count, 0.0f), twice_bias(s.k, 0.0f);
  cpu_backend().conv_backward_filter(s, x.data(), dy.data(), twice.data(), twice_bias.data());
  cpu_backend().conv_backward_filter(s, x.data(), dy.data(), twice.data(), twice_bias.data());
  for (int64_t i = 0; i < w_count; ++i) {
    INFO("dw index " << i);
    CHECK(twice[i] == doctest::Approx(2.0 * once[i]).epsilon(1e-5));
  }
  for (int64_t i = 0; i < s.k; ++i) {
    INFO("dbias index " << i);
    CHECK(twice_bias[i] == doctest::Approx(2.0 * once_bias[i]).epsilon(1e-5));
  }
  // Starting from non-zero values: dw = start + gradient.
  std::vector<float> offset(w_count, 3.0f);
  cpu_backend().conv_backward_filter(s, x.data(), dy.data(), offset.data(), nullptr);
  for (int64_t i = 0; i < w_count; ++i) CHECK(offset[i] == doctest::Approx(3.0 + once[i]));
}

TEST_CASE("Convolution layer: parameters, defaults, shapes") {
  Rng rng(3);
  auto layer = make_test_layer(
      "{name: c1, type: Convolution, num_output: 6, kernel_size: [3, 2], stride: 2, pad: [1, 0],"
      " group: 2}",
      rng);
  Tensor bottom({2, 4, 9, 8}), top;
  layer->reshape({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 6, 5, 4});
  REQUIRE(layer->params().size() == 2);
  CHECK(layer->params()[0].name == "weight");
  CHECK(layer->params()[0].value.shape() == Shape{6, 2, 3, 2});
  CHECK(layer->params()[1].name == "bias");
  CHECK(layer->params()[1].value.shape() == Shape{6});
  // Caffe's default fillers: constant 0.
  for (float v : layer->params()[0].value.host_data()) CHECK(v == 0.0f);
  // A new batch size reshapes without refilling.
  layer->params()[0].value.set_data(std::vector<float>(72, 1.0f));
  Tensor bigger({5, 4, 9, 8});
  layer->reshape({&bigger}, {&top});
  CHECK(top.shape() == Shape{5, 6, 5, 4});
  CHECK(layer->params()[0].value.host_data()[0] == 1.0f);

  auto no_bias = make_test_layer(
      "{name: c2, type: Convolution, num_output: 2, kernel_h: 1, kernel_w: 3, bias_term: false,"
      " dilation: 2}",
      rng);
  no_bias->reshape({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 2, 9, 4});
  CHECK(no_bias->params().size() == 1);
}

TEST_CASE("Convolution layer: gradient checks") {
  SUBCASE("grouped, strided, padded") {
    Rng rng(11);
    auto layer = make_test_layer(
        "{name: conv, type: Convolution, num_output: 4, kernel_size: 3, stride: 2, pad: 1,"
        " group: 2, weight_filler: {type: gaussian, std: 0.5}, bias_filler: {type: uniform}}",
        rng);
    Tensor bottom = random_tensor({2, 4, 5, 5}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
  SUBCASE("dilated, one image") {
    Rng rng(12);
    auto layer = make_test_layer(
        "{name: conv, type: Convolution, num_output: 3, kernel_size: 2, dilation: 2,"
        " weight_filler: {type: xavier}, bias_filler: {type: gaussian}}",
        rng);
    Tensor bottom = random_tensor({1, 2, 5, 6}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
  SUBCASE("1x1, no bias") {
    Rng rng(13);
    auto layer = make_test_layer(
        "{name: conv, type: Convolution, num_output: 3, kernel_size: 1, bias_term: false,"
        " weight_filler: {type: msra}}",
        rng);
    Tensor bottom = random_tensor({3, 4, 3, 3}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
}

TEST_CASE("Convolution layer: spec and shape errors name the layer and the shapes") {
  Rng rng(1);
  Tensor top;
  CHECK(error_message([&] { make_test_layer("{name: c1, type: Convolution, kernel_size: 3}", rng); })
            .find("missing required key `num_output`") != std::string::npos);
  CHECK(error_message([&] { make_test_layer("{name: c1, type: Convolution, num_output: 4}", rng); })
            .find("missing required key `kernel_size`") != std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: c1, type: Convolution, num_output: 4, kernel_size: 3, "
                          "kernel_h: 3, kernel_w: 3}",
                          rng);
        }).find("not both") != std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: c1, type: Convolution, num_output: 4, kernel_size: [3, 3, 3]}",
                          rng);
        }).find("kernel_size: expected one value or two") != std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: c1, type: Convolution, num_output: 4, kernel_size: 0}", rng);
        }).find("kernel_size: expected a positive integer, got 0") != std::string::npos);

  {
    auto layer = make_test_layer(
        "{name: c1, type: Convolution, num_output: 4, kernel_size: 3, group: 2}", rng);
    Tensor bottom({1, 3, 8, 8});
    const std::string message = error_message([&] { layer->reshape({&bottom}, {&top}); });
    INFO(message);
    CHECK(message.find("layer 'c1' (Convolution)") != std::string::npos);
    CHECK(message.find("group 2 does not divide the bottom's 3 channels (bottom shape "
                       "[1,3,8,8])") != std::string::npos);
  }
  {
    auto layer = make_test_layer(
        "{name: c1, type: Convolution, num_output: 4, kernel_size: 5, pad: 1}", rng);
    Tensor bottom({1, 3, 2, 8});
    const std::string message = error_message([&] { layer->reshape({&bottom}, {&top}); });
    INFO(message);
    CHECK(message.find("kernel 5x5 (dilation 1x1: spans 5x5) is larger than the padded input "
                       "4x10 (bottom shape [1,3,2,8], pad 1x1)") != std::string::npos);
  }
  {
    auto layer =
        make_test_layer("{name: c1, type: Convolution, num_output: 4, kernel_size: 3}", rng);
    Tensor bottom({1, 3, 8, 8}), other({1, 2, 8, 8}), flat({3, 8});
    layer->reshape({&bottom}, {&top});
    CHECK(error_message([&] { layer->reshape({&other}, {&top}); })
              .find("needs a weight of shape [4,2,3,3], but the layer's weight has shape "
                    "[4,3,3,3]") != std::string::npos);
    CHECK(error_message([&] { layer->reshape({&flat}, {&top}); })
              .find("expected a 4-D bottom (N, C, H, W), got shape [3,8]") != std::string::npos);
  }
  CHECK(error_message([&] {
          make_test_layer("{name: c1, type: Convolution, num_output: 5, kernel_size: 3, group: 2}",
                          rng);
        }).find("group 2 does not divide num_output 5") != std::string::npos);
}
