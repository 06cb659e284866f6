// CpuBackend::gemm splits large products across OpenMP threads by rows or columns of C; every
// transpose combination and both split directions must match a plain triple loop.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "backend/backend.h"
#include "core/rng.h"

using namespace digits;

TEST_CASE("gemm matches a direct product for all transposes, split by rows and by columns") {
  Rng rng(3);
  struct Case { int64_t m, n, k; };
  // Large enough to be split (m*n*k >= 2^18); tall (row split), wide (column split), ragged.
  for (Case cs : {Case{300, 40, 64}, Case{24, 333, 50}, Case{7, 5, 3}, Case{129, 130, 31}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        std::vector<float> a(cs.m * cs.k), b(cs.k * cs.n), c(cs.m * cs.n), expected(cs.m * cs.n);
        for (auto& v : a) v = rng.uniform(-1, 1);
        for (auto& v : b) v = rng.uniform(-1, 1);
        for (size_t i = 0; i < c.size(); ++i) c[i] = expected[i] = rng.uniform(-1, 1);
        const float alpha = 0.5f, beta = 2.0f;
        for (int64_t i = 0; i < cs.m; ++i)
          for (int64_t j = 0; j < cs.n; ++j) {
            double sum = 0;
            for (int64_t p = 0; p < cs.k; ++p) {
              float av = ta ? a[p * cs.m + i] : a[i * cs.k + p];
              float bv = tb ? b[j * cs.k + p] : b[p * cs.n + j];
              sum += double(av) * bv;
            }
            expected[i * cs.n + j] = float(alpha * sum + beta * expected[i * cs.n + j]);
          }
        cpu_backend().gemm(ta, tb, cs.m, cs.n, cs.k, alpha, a.data(), b.data(), beta, c.data());
        for (size_t i = 0; i < c.size(); ++i) {
          INFO("gemm(ta=" << ta << ",tb=" << tb << ",m=" << cs.m << ",n=" << cs.n << ",k=" << cs.k
                          << ") index " << i);
          REQUIRE(std::fabs(c[i] - expected[i]) <= 1e-4f * (1 + std::fabs(expected[i])));
        }
      }
  }
}
