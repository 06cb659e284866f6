// CUDA backend GEMM (cuBLAS, strict float32) vs the CPU backend (OpenBLAS): the four
// transposition cases, alpha and beta, k = 0, sizes from 1x1x1 to inner-product-like. Both sum
// float products in different orders: for k up to 800 of values in [-1, 1] the difference is a
// few float roundings of the partial sums, far below 1e-5 of the result's scale; a wrong
// transposition or leading dimension is off by O(1).
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda_test_util.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda gemm matches the CPU backend in every transposition") {
  Backend& gpu = backend_for("gpu:0");
  Backend& cpu = cpu_backend();
  Rng rng(91);
  struct Dims {
    int64_t m, n, k;
  };
  for (Dims d : {Dims{1, 1, 1}, Dims{7, 13, 5}, Dims{64, 100, 300}, Dims{3, 500, 800},
                 Dims{5, 6, 0}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 0.5f}) {
          const std::string what = "gemm(ta=" + std::to_string(ta) + ",tb=" + std::to_string(tb) +
                                   ",m=" + std::to_string(d.m) + ",n=" + std::to_string(d.n) +
                                   ",k=" + std::to_string(d.k) + ",beta=" + std::to_string(beta) +
                                   ")";
          CAPTURE(what);
          const auto a = random_floats(d.m * d.k, rng), b = random_floats(d.k * d.n, rng),
                     c0 = random_floats(d.m * d.n, rng);
          DeviceArray<float> ga(a), gb(b), gc(c0);
          std::vector<float> c = c0;
          cpu.gemm(ta, tb, d.m, d.n, d.k, 1.5f, a.data(), b.data(), beta, c.data());
          gpu.gemm(ta, tb, d.m, d.n, d.k, 1.5f, ga.get(), gb.get(), beta, gc.get());
          check_close(what, gc.host(), c, 1e-5);
        }
}

#endif  // DIGITS_HAVE_CUDA
