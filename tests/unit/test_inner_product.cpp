// InnerProduct: hand-computed forward and backward, accumulation of parameter gradients,
// flattening around `axis`, gradient checks and spec/shape errors.
#include <doctest/doctest.h>

#include <vector>

#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

void check_values(const std::vector<float>& actual, const std::vector<double>& expected,
                  const char* what) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO(what << " index " << i << ": got " << actual[i] << ", expected " << expected[i]);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  }
}

}  // namespace

TEST_CASE("InnerProduct: hand-computed forward and backward; parameter gradients accumulate") {
  Rng rng(1);
  auto layer = make_test_layer("{name: ip, type: InnerProduct, num_output: 2}", rng);
  Tensor bottom = make_tensor({2, 3}, {1, 2, 3, 4, 5, 6}), top;
  layer->reshape({&bottom}, {&top});
  REQUIRE(layer->params().size() == 2);
  CHECK(layer->params()[0].name == "weight");
  CHECK(layer->params()[0].value.shape() == Shape{2, 3});  // (num_output, K), as PyTorch
  CHECK(layer->params()[1].name == "bias");
  for (float v : layer->params()[0].value.host_data()) CHECK(v == 0.0f);  // Caffe's default
  layer->params()[0].value.set_data({1, 0, -1, 0.5f, 0.5f, 0.5f});
  layer->params()[1].value.set_data({10, -1});
  layer->forward({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 2});
  // Row 1: (1 - 3 + 10, 3 - 1); row 2: (4 - 6 + 10, 7.5 - 1).
  check_values(top.host_data(), {8, 2, 8, 6.5}, "y");

  // dy = identity: dW = dy^T x = x, db = (1, 1), dx = dy W = W.
  top.set_grad({1, 0, 0, 1});
  layer->backward({&top}, {true}, {&bottom});
  check_values(layer->params()[0].value.host_grad(), {1, 2, 3, 4, 5, 6}, "dW");
  check_values(layer->params()[1].value.host_grad(), {1, 1}, "db");
  check_values(bottom.host_grad(), {1, 0, -1, 0.5, 0.5, 0.5}, "dx");
  // Parameters accumulate (+=); the bottom's gradient is overwritten (=).
  layer->backward({&top}, {true}, {&bottom});
  check_values(layer->params()[0].value.host_grad(), {2, 4, 6, 8, 10, 12}, "dW twice");
  check_values(layer->params()[1].value.host_grad(), {2, 2}, "db twice");
  check_values(bottom.host_grad(), {1, 0, -1, 0.5, 0.5, 0.5}, "dx twice");
}

TEST_CASE("InnerProduct: axis flattens the trailing axes") {
  Rng rng(2);
  Tensor bottom({2, 3, 2, 2}), top;
  auto by_image = make_test_layer("{name: ip, type: InnerProduct, num_output: 5}", rng);
  by_image->reshape({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 5});
  CHECK(by_image->params()[0].value.shape() == Shape{5, 12});

  auto by_channel = make_test_layer("{name: ip, type: InnerProduct, num_output: 5, axis: 2}", rng);
  by_channel->reshape({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 3, 5});
  CHECK(by_channel->params()[0].value.shape() == Shape{5, 4});

  auto last = make_test_layer(
      "{name: ip, type: InnerProduct, num_output: 1, axis: -1, bias_term: false}", rng);
  last->reshape({&bottom}, {&top});
  CHECK(top.shape() == Shape{2, 3, 2, 1});
  CHECK(last->params().size() == 1);

  // Flattening is a view: a (2, 12) input gives the same outputs as (2, 3, 2, 2).
  auto flat_layer = make_test_layer(
      "{name: ip, type: InnerProduct, num_output: 4, weight_filler: {type: gaussian},"
      " bias_filler: {type: uniform}}",
      rng);
  Tensor x4 = random_tensor({2, 3, 2, 2}, rng), x2({2, 12}), y4, y2;
  x2.set_data(x4.host_data());
  flat_layer->reshape({&x4}, {&y4});
  flat_layer->forward({&x4}, {&y4});
  flat_layer->reshape({&x2}, {&y2});
  flat_layer->forward({&x2}, {&y2});
  CHECK(y4.host_data() == y2.host_data());
}

TEST_CASE("InnerProduct: gradient checks") {
  SUBCASE("flattened 4-D input") {
    Rng rng(41);
    auto layer = make_test_layer(
        "{name: fc, type: InnerProduct, num_output: 3, weight_filler: {type: gaussian, std: 0.5},"
        " bias_filler: {type: gaussian}}",
        rng);
    Tensor bottom = random_tensor({3, 2, 2, 3}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
  SUBCASE("axis 2, no bias") {
    Rng rng(42);
    auto layer = make_test_layer(
        "{name: fc, type: InnerProduct, num_output: 2, axis: 2, bias_term: false,"
        " weight_filler: {type: xavier}}",
        rng);
    Tensor bottom = random_tensor({2, 3, 4}, rng), top;
    check_layer_gradients(*layer, {&bottom}, {&top});
  }
}

TEST_CASE("InnerProduct: spec and shape errors") {
  Rng rng(1);
  Tensor top;
  CHECK(error_message([&] { make_test_layer("{name: fc, type: InnerProduct}", rng); })
            .find("layer 'fc' (InnerProduct): missing required key `num_output`") !=
        std::string::npos);
  CHECK(error_message([&] {
          make_test_layer("{name: fc, type: InnerProduct, num_output: 0}", rng);
        }).find("num_output: expected a positive integer, got 0") != std::string::npos);
  auto layer = make_test_layer("{name: fc, type: InnerProduct, num_output: 2, axis: 3}", rng);
  Tensor bottom({2, 3, 4});
  CHECK(error_message([&] { layer->reshape({&bottom}, {&top}); })
            .find("axis 3 is out of range for a bottom of shape [2,3,4]") != std::string::npos);
  auto fc = make_test_layer("{name: fc, type: InnerProduct, num_output: 2}", rng);
  Tensor a({2, 6}), b({2, 7});
  fc->reshape({&a}, {&top});
  const std::string message = error_message([&] { fc->reshape({&b}, {&top}); });
  INFO(message);
  CHECK(message.find("bottom shape [2,7] has 7 inputs from axis 1 on, but the layer's weight "
                     "[2,6] was made for 6") != std::string::npos);
}
