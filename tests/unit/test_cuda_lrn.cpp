// CUDA backend LRN across channels (cuDNN) vs the CPU backend, forward and backward, for
// AlexNet's parameters and for ones where the normalizer matters (alpha 1, k 2), window sizes
// 1, 3 and 5, and fewer channels than the window. cuDNN raises to -beta with its own pow; the CPU
// with sqrt for 0.75: a few float roundings apart, and backward subtracts two such terms, so
// 1e-4 of the scale (a window off by one channel changes results by far more).
// Parameters beyond cuDNN's range are an error naming them, not a silent fallback.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda LRN matches the CPU backend, forward and backward") {
  Backend& gpu = backend_for("gpu:0");
  Backend& cpu = cpu_backend();
  Rng rng(71);
  struct Case {
    LrnParams p;
    int64_t n, c, h, w;
  };
  const Case cases[] = {{{5, 1e-4f, 0.75f, 1.0f}, 2, 16, 7, 7},
                        {{5, 1.0f, 0.75f, 2.0f}, 2, 8, 5, 6},
                        {{3, 0.5f, 0.6f, 1.0f}, 1, 6, 4, 4},
                        {{1, 1.0f, 0.75f, 1.0f}, 1, 3, 3, 3},
                        {{5, 1.0f, 0.75f, 1.0f}, 2, 2, 4, 4}};
  for (const Case& c : cases) {
    const std::string what = "lrn(size=" + std::to_string(c.p.size) + ",alpha=" +
                             std::to_string(c.p.alpha) + ",beta=" + std::to_string(c.p.beta) +
                             ",k=" + std::to_string(c.p.k) + ",c=" + std::to_string(c.c) + ")";
    CAPTURE(what);
    const int64_t n = c.n * c.c * c.h * c.w;
    const auto x = random_floats(n, rng, -2.0f, 2.0f), dy = random_floats(n, rng);
    DeviceArray<float> gx(x), gy(n), gscale(n), gdy(dy), gdx(n);
    std::vector<float> y(n), scale(n), dx(n);
    cpu.lrn_forward(c.p, c.n, c.c, c.h, c.w, x.data(), scale.data(), y.data());
    gpu.lrn_forward(c.p, c.n, c.c, c.h, c.w, gx.get(), gscale.get(), gy.get());
    check_close(what + " forward", gy.host(), y, 1e-4);
    cpu.lrn_backward(c.p, c.n, c.c, c.h, c.w, x.data(), y.data(), scale.data(), dy.data(),
                     dx.data());
    gpu.lrn_backward(c.p, c.n, c.c, c.h, c.w, gx.get(), gy.get(), gscale.get(), gdy.get(),
                     gdx.get());
    check_close(what + " backward", gdx.host(), dx, 1e-4);
  }
}

TEST_CASE("cuda LRN beyond cuDNN's range is an error naming the parameter") {
  Backend& gpu = backend_for("gpu:0");
  DeviceArray<float> x(4 * 20), y(4 * 20), scale(4 * 20);
  const LrnParams wide{17, 1e-4f, 0.75f, 1.0f};
  const std::string message =
      error_message([&] { gpu.lrn_forward(wide, 1, 20, 2, 2, x.get(), scale.get(), y.get()); });
  CHECK(message.find("local_size 17") != std::string::npos);
}

#endif  // DIGITS_HAVE_CUDA
