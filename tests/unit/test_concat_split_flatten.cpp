// Concat, Split, Flatten: layouts by hand, shape errors, gradient checks.
#include <doctest/doctest.h>

#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

std::vector<float> iota(int64_t n, float start) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

}  // namespace

TEST_CASE("Concat along channels, batch and the last axis") {
  Rng rng(41);
  Tensor a = make_tensor({2, 1, 2}, iota(4, 0));     // [[0 1]], [[2 3]]
  Tensor b = make_tensor({2, 2, 2}, iota(8, 10));    // [[10 11][12 13]], [[14 15][16 17]]
  Tensor y;

  auto channels = make_test_layer("{name: cat, type: Concat}", rng);
  channels->reshape({&a, &b}, {&y});
  CHECK(y.shape() == Shape{2, 3, 2});
  channels->forward({&a, &b}, {&y});
  CHECK(y.host_data() == std::vector<float>{0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17});

  // Backward hands each bottom its block of the top's grad.
  y.set_grad(iota(12, 100));
  channels->backward({&y}, {true, true}, {&a, &b});
  CHECK(a.host_grad() == std::vector<float>{100, 101, 106, 107});
  CHECK(b.host_grad() == std::vector<float>{102, 103, 104, 105, 108, 109, 110, 111});

  Tensor c = make_tensor({1, 1, 2}, {-1, -2});
  auto batch = make_test_layer("{name: cat, type: Concat, axis: 0}", rng);
  batch->reshape({&a, &c}, {&y});
  CHECK(y.shape() == Shape{3, 1, 2});
  batch->forward({&a, &c}, {&y});
  CHECK(y.host_data() == std::vector<float>{0, 1, 2, 3, -1, -2});

  Tensor d = make_tensor({2, 1, 1}, {7, 8});
  auto last = make_test_layer("{name: cat, type: Concat, axis: -1}", rng);
  last->reshape({&a, &d}, {&y});
  CHECK(y.shape() == Shape{2, 1, 3});
  last->forward({&a, &d}, {&y});
  CHECK(y.host_data() == std::vector<float>{0, 1, 7, 2, 3, 8});

  // One bottom is allowed: a copy.
  auto single = make_test_layer("{name: cat, type: Concat}", rng);
  single->reshape({&b}, {&y});
  single->forward({&b}, {&y});
  CHECK(y.host_data() == b.host_data());
}

TEST_CASE("Concat rejects bottoms that differ off the concatenation axis") {
  Rng rng(42);
  auto layer = make_test_layer("{name: merge, type: Concat}", rng);
  Tensor a({2, 3, 4, 4}), b({2, 5, 4, 4}), c({2, 3, 4, 5}), d({2, 3, 16}), y;
  layer->reshape({&a, &b}, {&y});
  CHECK(y.shape() == Shape{2, 8, 4, 4});
  std::string message = error_message([&] { layer->reshape({&a, &b, &c}, {&y}); });
  CHECK(message.find("layer 'merge' (Concat)") != std::string::npos);
  CHECK(message.find("bottom[2]") != std::string::npos);
  CHECK(message.find("[2,3,4,5]") != std::string::npos);
  CHECK(message.find("[2,3,4,4]") != std::string::npos);
  CHECK_FALSE(error_message([&] { layer->reshape({&a, &d}, {&y}); }).empty());
  auto bad_axis = make_test_layer("{name: merge, type: Concat, axis: 4}", rng);
  message = error_message([&] { bad_axis->reshape({&a, &b}, {&y}); });
  CHECK(message.find("axis") != std::string::npos);
}

TEST_CASE("Split copies to every top and sums their gradients") {
  Rng rng(43);
  auto layer = make_test_layer("{name: s, type: Split}", rng);
  Tensor x = make_tensor({2, 2}, {1, 2, 3, 4});
  Tensor t0, t1, t2;
  layer->reshape({&x}, {&t0, &t1, &t2});
  layer->forward({&x}, {&t0, &t1, &t2});
  for (Tensor* t : {&t0, &t1, &t2}) CHECK(t->host_data() == x.host_data());
  t0.set_grad({1, 1, 1, 1});
  t1.set_grad({10, 20, 30, 40});
  t2.set_grad({0.5f, 0, 0, -1});
  layer->backward({&t0, &t1, &t2}, {true}, {&x});
  CHECK(x.host_grad() == std::vector<float>{11.5f, 21, 31, 40});
}

TEST_CASE("Flatten merges axes [axis, end_axis]") {
  Rng rng(44);
  Tensor x = make_tensor({2, 3, 4, 5}, iota(120, 0));
  Tensor y;
  struct Case {
    const char* yaml;
    Shape shape;
  };
  for (const Case& c : {Case{"{name: f, type: Flatten}", {2, 60}},
                        Case{"{name: f, type: Flatten, axis: 1, end_axis: 2}", {2, 12, 5}},
                        Case{"{name: f, type: Flatten, axis: -2}", {2, 3, 20}},
                        Case{"{name: f, type: Flatten, axis: 0}", {120}},
                        Case{"{name: f, type: Flatten, axis: 2, end_axis: 2}", {2, 3, 4, 5}}}) {
    CAPTURE(c.yaml);
    auto layer = make_test_layer(c.yaml, rng);
    layer->reshape({&x}, {&y});
    CHECK(y.shape() == c.shape);
    layer->forward({&x}, {&y});
    CHECK(y.host_data() == x.host_data());
  }
  auto backwards = make_test_layer("{name: flat, type: Flatten, axis: 2, end_axis: 1}", rng);
  std::string message = error_message([&] { backwards->reshape({&x}, {&y}); });
  CHECK(message.find("layer 'flat' (Flatten)") != std::string::npos);
  CHECK(message.find("[2,3,4,5]") != std::string::npos);
}

TEST_CASE("Concat, Split and Flatten gradients match central differences") {
  Rng rng(45);
  for (const char* yaml :
       {"{name: c, type: Concat}", "{name: c, type: Concat, axis: 2}"}) {
    CAPTURE(yaml);
    auto layer = make_test_layer(yaml, rng);
    Tensor a = random_tensor({2, 3, 2}, rng), b = random_tensor({2, 3, 2}, rng),
           c = random_tensor({2, 3, 2}, rng);
    Tensor y;
    check_layer_gradients(*layer, {&a, &b, &c}, {&y});
  }
  auto split = make_test_layer("{name: s, type: Split}", rng);
  Tensor x = random_tensor({3, 4}, rng);
  Tensor t0, t1, t2;
  check_layer_gradients(*split, {&x}, {&t0, &t1, &t2});

  auto flatten = make_test_layer("{name: f, type: Flatten}", rng);
  Tensor z = random_tensor({2, 3, 2, 2}, rng);
  Tensor flat;
  check_layer_gradients(*flatten, {&z}, {&flat});
}
