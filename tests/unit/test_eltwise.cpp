// Eltwise: SUM with coefficients, PROD, MAX (values, gradient routing, first-wins ties),
// shape and setting checks, gradient checks.
#include <doctest/doctest.h>

#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

struct EltwiseRun {
  std::vector<float> y;
  std::vector<std::vector<float>> dx;  // per bottom, for dy = 1
};

EltwiseRun run_eltwise(const std::string& yaml, const std::vector<std::vector<float>>& inputs) {
  Rng rng(1);
  auto layer = make_test_layer(yaml, rng);
  std::vector<Tensor> tensors;
  for (const auto& v : inputs) tensors.push_back(make_tensor({static_cast<int64_t>(v.size())}, v));
  std::vector<Tensor*> bottom;
  for (auto& t : tensors) bottom.push_back(&t);
  Tensor top;
  layer->reshape(bottom, {&top});
  layer->forward(bottom, {&top});
  top.set_grad(std::vector<float>(top.count(), 1.0f));
  layer->backward({&top}, std::vector<bool>(bottom.size(), true), bottom);
  EltwiseRun run{top.host_data(), {}};
  for (auto* b : bottom) run.dx.push_back(b->host_grad());
  return run;
}

}  // namespace

TEST_CASE("Eltwise SUM, PROD, MAX: values and gradients") {
  const std::vector<std::vector<float>> in = {{1, -2, 3, 0}, {4, 5, -6, 0}, {0.5f, 5, 2, 0}};

  EltwiseRun sum = run_eltwise("{name: e, type: Eltwise}", in);
  CHECK(sum.y == std::vector<float>{5.5f, 8, -1, 0});
  for (const auto& g : sum.dx) CHECK(g == std::vector<float>(4, 1.0f));

  EltwiseRun weighted =
      run_eltwise("{name: e, type: Eltwise, operation: SUM, coeff: [1, -1, 2]}", in);
  CHECK(weighted.y == std::vector<float>{-2, 3, 13, 0});
  CHECK(weighted.dx[1] == std::vector<float>(4, -1.0f));
  CHECK(weighted.dx[2] == std::vector<float>(4, 2.0f));

  // PROD: the gradient is the product of the other inputs, exact even where an input is 0.
  EltwiseRun prod = run_eltwise("{name: e, type: Eltwise, operation: PROD}", in);
  CHECK(prod.y == std::vector<float>{2, -50, -36, 0});
  CHECK(prod.dx[0] == std::vector<float>{2, 25, -12, 0});
  CHECK(prod.dx[2] == std::vector<float>{4, -10, -18, 0});
  EltwiseRun with_zero =
      run_eltwise("{name: e, type: Eltwise, operation: PROD}", {{0, 2}, {3, 0}});
  CHECK(with_zero.dx[0] == std::vector<float>{3, 0});
  CHECK(with_zero.dx[1] == std::vector<float>{0, 2});

  // MAX: the gradient goes to the winner; in a tie (column 1: 5 and 5) the first input wins.
  EltwiseRun max = run_eltwise("{name: e, type: Eltwise, operation: MAX}", in);
  CHECK(max.y == std::vector<float>{4, 5, 3, 0});
  CHECK(max.dx[0] == std::vector<float>{0, 0, 1, 1});
  CHECK(max.dx[1] == std::vector<float>{1, 1, 0, 0});
  CHECK(max.dx[2] == std::vector<float>{0, 0, 0, 0});
}

TEST_CASE("Eltwise gradients match central differences") {
  Rng rng(31);
  for (const char* yaml : {"{name: e, type: Eltwise, coeff: [0.5, -2, 1.5]}",
                           "{name: e, type: Eltwise, operation: PROD}"}) {
    CAPTURE(yaml);
    auto layer = make_test_layer(yaml, rng);
    Tensor a = random_tensor({2, 3, 4}, rng), b = random_tensor({2, 3, 4}, rng),
           c = random_tensor({2, 3, 4}, rng);
    Tensor y;
    check_layer_gradients(*layer, {&a, &b, &c}, {&y});
  }
  // MAX without near-ties: each element's three values are distinct levels 0.3 apart (far
  // beyond the 0.01 step), in a random order.
  auto layer = make_test_layer("{name: e, type: Eltwise, operation: MAX}", rng);
  const int64_t n = 40;
  std::vector<std::vector<float>> values(3, std::vector<float>(n));
  for (int64_t j = 0; j < n; ++j) {
    int order[3] = {0, 1, 2};
    for (int k = 2; k > 0; --k) std::swap(order[k], order[rng.below(k + 1)]);
    const float base = rng.uniform(-1.0f, 1.0f);
    for (int k = 0; k < 3; ++k) values[k][j] = base + 0.3f * order[k];
  }
  Tensor a = make_tensor({n}, values[0]), b = make_tensor({n}, values[1]),
         c = make_tensor({n}, values[2]);
  Tensor y;
  check_layer_gradients(*layer, {&a, &b, &c}, {&y});
}

TEST_CASE("Eltwise rejects unequal shapes and misplaced coefficients, naming the layer") {
  Rng rng(32);
  auto layer = make_test_layer("{name: add, type: Eltwise}", rng);
  Tensor a({2, 3}), b({2, 3}), c({3, 2}), y;
  std::string message = error_message([&] { layer->reshape({&a, &b, &c}, {&y}); });
  CHECK(message.find("layer 'add' (Eltwise)") != std::string::npos);
  CHECK(message.find("bottom[2]") != std::string::npos);
  CHECK(message.find("[3,2]") != std::string::npos);
  CHECK(message.find("[2,3]") != std::string::npos);

  auto counted = make_test_layer("{name: add, type: Eltwise, coeff: [1, 2, 3]}", rng);
  message = error_message([&] { counted->reshape({&a, &b}, {&y}); });
  CHECK(message.find("3 coefficients for 2 bottoms") != std::string::npos);

  message = error_message(
      [&] { make_test_layer("{name: m, type: Eltwise, operation: MAX, coeff: [1, 1]}", rng); });
  CHECK(message.find("coeff") != std::string::npos);
  message = error_message([&] { make_test_layer("{name: m, type: Eltwise, operation: MIN}", rng); });
  CHECK(message.find("SUM, PROD, MAX") != std::string::npos);
}

TEST_CASE("cpu eltwise_backward PROD is dy * y / x where x is nonzero") {
  const std::vector<float> x = {2, -4}, y = {6, 8}, dy = {1, 0.5f};
  std::vector<float> dx(2);
  cpu_backend().eltwise_backward(EltwiseOp::prod, 2, 0, x.data(), y.data(), dy.data(), 1.0f,
                                 nullptr, dx.data());
  CHECK(dx == std::vector<float>{3, -1});
}
