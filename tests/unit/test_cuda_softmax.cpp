// CUDA backend softmax (cuDNN, channel mode, accurate algorithm) vs the CPU backend, forward and
// backward, over channel counts and inner sizes (classification: inner 1; per-pixel: inner > 1).
// Probabilities are at most 1; cuDNN's exp and summation order differ from the CPU's (which sums
// in double), so each value may differ by a few float roundings: 1e-5 of the scale.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda_test_util.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda softmax matches the CPU backend, forward and backward") {
  Backend& gpu = backend_for("gpu:0");
  Backend& cpu = cpu_backend();
  Rng rng(61);
  struct Dims {
    int64_t outer, channels, inner;
  };
  for (Dims d : {Dims{1, 1, 1}, Dims{64, 10, 1}, Dims{4, 1000, 1}, Dims{2, 5, 37}, Dims{3, 21, 64}}) {
    const std::string what = "softmax(" + std::to_string(d.outer) + "," +
                             std::to_string(d.channels) + "," + std::to_string(d.inner) + ")";
    CAPTURE(what);
    const int64_t n = d.outer * d.channels * d.inner;
    const auto x = random_floats(n, rng, -8.0f, 8.0f), dy = random_floats(n, rng);
    DeviceArray<float> gx(x), gy(n), gdy(dy), gdx(n);
    std::vector<float> y(n), dx(n);
    cpu.softmax_forward(d.outer, d.channels, d.inner, x.data(), y.data());
    gpu.softmax_forward(d.outer, d.channels, d.inner, gx.get(), gy.get());
    check_close(what + " forward", gy.host(), y, 1e-5);
    DeviceArray<float> gy_cpu(y);
    cpu.softmax_backward(d.outer, d.channels, d.inner, y.data(), dy.data(), dx.data());
    gpu.softmax_backward(d.outer, d.channels, d.inner, gy_cpu.get(), gdy.get(), gdx.get());
    check_close(what + " backward", gdx.host(), dx, 1e-5);
  }
}

#endif  // DIGITS_HAVE_CUDA
