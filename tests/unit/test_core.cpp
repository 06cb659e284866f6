#include <doctest/doctest.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor.h"

using namespace digits;

TEST_CASE("tensor shape, reshape keeps capacity, host round trip") {
  Tensor t({2, 3, 4, 5});
  CHECK(t.count() == 120);
  CHECK(t.count(1) == 60);
  CHECK(t.dim(-1) == 5);
  CHECK(t.shape_string() == "[2,3,4,5]");
  std::vector<float> v(120);
  for (int i = 0; i < 120; ++i) v[i] = static_cast<float>(i);
  t.set_data(v);
  const float* before = t.data();
  t.reshape({6, 20});
  CHECK(t.data() == before);
  CHECK(t.host_data() == v);
  CHECK(t.host_grad() == std::vector<float>(120, 0.0f));
  CHECK_THROWS_AS(t.set_data(std::vector<float>(3)), Error);
}

TEST_CASE("shape_count: an element count past int64 is an error, not an overflow") {
  CHECK(shape_count({}) == 1);
  CHECK(shape_count({3, 0, 5}) == 0);
  CHECK(shape_count({int64_t(1) << 31, int64_t(1) << 31}) == int64_t(1) << 62);
  CHECK_THROWS_AS(shape_count({int64_t(1) << 32, int64_t(1) << 32}), Error);
  CHECK_THROWS_AS(shape_count({int64_t(1) << 32, int64_t(1) << 32, 0}), Error);
}

TEST_CASE("rng is reproducible from seed and from saved state") {
  Rng a(42), b(42);
  for (int i = 0; i < 10; ++i) CHECK(a.next_u64() == b.next_u64());
  Rng::State saved = a.state();
  double x = a.uniform();
  a.set_state(saved);
  CHECK(a.uniform() == x);
  // Mean of uniform and normal draws within loose statistical bounds.
  double sum = 0, sum_normal = 0;
  for (int i = 0; i < 20000; ++i) {
    sum += a.uniform();
    sum_normal += a.normal();
  }
  CHECK(sum / 20000 == doctest::Approx(0.5).epsilon(0.02));
  CHECK(std::abs(sum_normal / 20000) < 0.03);
  CHECK(counter_uniform(7, 3) == counter_uniform(7, 3));
  CHECK(counter_uniform(7, 3) != counter_uniform(7, 4));
}
