// CUDA backend pooling (our kernels, kernels/pool_cuda.cu) vs the CPU backend: forward, the
// argmax mask, backward with and without the mask, max and average, over shapes that exercise
// Caffe's ceil rule (a last window hanging into the padding, or past the input without padding),
// overlapping and non-overlapping windows, and ties. The kernels make the same comparisons and
// the same additions in the same order as the CPU, so results must be bit-identical (bound 0).
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "backend/backend.h"
#include "cuda_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

PoolShape shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p) {
  PoolShape ps;
  ps.n = n, ps.c = c, ps.h = h, ps.w = w, ps.kh = ps.kw = k, ps.sh = ps.sw = s, ps.ph = ps.pw = p;
  return ps;
}

const PoolShape kShapes[] = {
    shape(2, 3, 8, 8, 2, 2, 0),    // LeNet: non-overlapping
    shape(2, 3, 13, 13, 3, 2, 0),  // AlexNet: overlapping, ceil rule adds nothing
    shape(1, 2, 10, 10, 3, 2, 1),  // padded; the last window hangs into the padding
    shape(1, 2, 7, 9, 2, 3, 0),    // stride above kernel: ceil rule adds an empty window
    shape(2, 4, 6, 6, 3, 1, 1),    // stride 1 (WITHIN_CHANNEL LRN's average pooling)
    shape(1, 1, 1, 1, 1, 1, 0),    // one element
};

}  // namespace

TEST_CASE("cuda pooling is bit-identical to the CPU backend") {
  Backend& gpu = backend_for("gpu:0");
  Backend& cpu = cpu_backend();
  Rng rng(41);
  for (PoolShape s : kShapes)
    for (PoolMethod method : {PoolMethod::max, PoolMethod::average})
      for (bool ties : {false, true}) {
        s.method = method;
        const std::string what = s.describe() + (ties ? " with ties" : "");
        CAPTURE(what);
        const int64_t x_n = s.n * s.c * s.h * s.w, y_n = s.n * s.c * s.out_h() * s.out_w();
        std::vector<float> x = random_floats(x_n, rng);
        // Three levels only: many windows hold their maximum twice (first one wins).
        if (ties)
          for (auto& v : x) v = std::round(v);
        const auto dy = random_floats(y_n, rng);
        DeviceArray<float> gx(x), gdy(dy), gy(y_n), gmask(y_n), gdx(x_n);

        std::vector<float> y(y_n), mask(y_n), dx(x_n);
        const bool max = method == PoolMethod::max;
        cpu.pool_forward(s, x.data(), y.data(), max ? mask.data() : nullptr);
        gpu.pool_forward(s, gx.get(), gy.get(), max ? gmask.get() : nullptr);
        check_close(what + " forward", gy.host(), y, 0);
        if (max) check_close(what + " mask", gmask.host(), mask, 0);

        cpu.pool_backward(s, x.data(), y.data(), dy.data(), max ? mask.data() : nullptr,
                          dx.data());
        gpu.pool_backward(s, gx.get(), gy.get(), gdy.get(), max ? gmask.get() : nullptr,
                          gdx.get());
        check_close(what + " backward", gdx.host(), dx, 0);
        if (max) {  // without the mask the argmax is recomputed from x
          cpu.pool_backward(s, x.data(), y.data(), dy.data(), nullptr, dx.data());
          gpu.pool_backward(s, gx.get(), gy.get(), gdy.get(), nullptr, gdx.get());
          check_close(what + " backward without mask", gdx.host(), dx, 0);
        }
      }
}

#endif  // DIGITS_HAVE_CUDA
