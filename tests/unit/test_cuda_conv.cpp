// CUDA backend convolution (cuDNN) vs the CPU backend: forward (with and without bias),
// backward data, backward filter (+= into dw and dbias) over a grid of shapes: stride, padding,
// dilation, groups (grouped and depthwise), 1x1, rectangular kernels, one image and several.
// Also: the algorithm chosen for a shape is reused (second run bit-identical to the first).
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <vector>

#include "backend/backend.h"
#include "cuda_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

// cuDNN's heuristics may pick FFT or Winograd algorithms, whose transforms round at about
// 1e-5..1e-4 of the output's scale; a single wrong tap or channel is off by more than 1e-2 of it.
constexpr double kConvBound = 5e-4;

ConvShape shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh, int64_t kw,
                int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t d, int64_t groups) {
  ConvShape s;
  s.n = n, s.c = c, s.h = h, s.w = w, s.k = k, s.kh = kh, s.kw = kw, s.sh = sh, s.sw = sw;
  s.ph = ph, s.pw = pw, s.dh = d, s.dw = d, s.groups = groups;
  return s;
}

const ConvShape kShapes[] = {
    shape(2, 3, 10, 10, 4, 3, 3, 1, 1, 0, 0, 1, 1),    // plain
    shape(1, 4, 9, 7, 6, 3, 2, 2, 1, 1, 0, 1, 1),      // rectangular, strided, padded
    shape(2, 3, 12, 12, 5, 3, 3, 1, 1, 2, 2, 2, 1),    // dilated
    shape(2, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 2),      // two groups
    shape(3, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 4),      // depthwise
    shape(4, 16, 5, 5, 8, 1, 1, 1, 1, 0, 0, 1, 1),     // 1x1
    shape(2, 3, 35, 35, 8, 11, 11, 4, 4, 0, 0, 1, 1),  // AlexNet conv1-like
    shape(2, 8, 13, 13, 12, 5, 5, 1, 1, 2, 2, 1, 2),   // AlexNet conv2-like, grouped
};

}  // namespace

TEST_CASE("cuda conv forward, backward data, backward filter match the CPU backend") {
  Backend& gpu = backend_for("gpu:0");
  Backend& cpu = cpu_backend();
  Rng rng(31);
  for (const ConvShape& s : kShapes) {
    const std::string what = s.describe();
    CAPTURE(what);
    const int64_t x_n = s.n * s.c * s.h * s.w, w_n = s.k * (s.c / s.groups) * s.kh * s.kw;
    const int64_t y_n = s.n * s.k * s.out_h() * s.out_w();
    const auto x = random_floats(x_n, rng), w = random_floats(w_n, rng),
               bias = random_floats(s.k, rng), dy = random_floats(y_n, rng),
               dw0 = random_floats(w_n, rng), db0 = random_floats(s.k, rng);
    DeviceArray<float> gx(x), gw(w), gbias(bias), gdy(dy), gy(y_n), gdx(x_n), gdw(dw0), gdb(db0);

    for (bool with_bias : {true, false}) {
      std::vector<float> y(y_n);
      cpu.conv_forward(s, x.data(), w.data(), with_bias ? bias.data() : nullptr, y.data());
      gpu.conv_forward(s, gx.get(), gw.get(), with_bias ? gbias.get() : nullptr, gy.get());
      check_close(what + (with_bias ? " forward+bias" : " forward"), gy.host(), y, kConvBound);
    }
    const std::vector<float> first = gy.host();
    gpu.conv_forward(s, gx.get(), gw.get(), nullptr, gy.get());
    check_close(what + " forward rerun (same algorithm)", gy.host(), first, 0);

    std::vector<float> dx(x_n);
    cpu.conv_backward_data(s, w.data(), dy.data(), dx.data());
    gpu.conv_backward_data(s, gw.get(), gdy.get(), gdx.get());
    check_close(what + " backward data", gdx.host(), dx, kConvBound);

    std::vector<float> dw = dw0, db = db0;
    cpu.conv_backward_filter(s, x.data(), dy.data(), dw.data(), db.data());
    gpu.conv_backward_filter(s, gx.get(), gdy.get(), gdw.get(), gdb.get());
    check_close(what + " backward filter (+=)", gdw.host(), dw, kConvBound);
    // Both sum dy in double (our bias kernels), then add in float.
    check_close(what + " backward bias (+=)", gdb.host(), db, 1e-6);
  }
}

#endif  // DIGITS_HAVE_CUDA
