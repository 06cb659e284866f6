// Softmax, SoftmaxWithLoss and Accuracy: hand-computed answers, normalization modes,
// ignore_label, Caffe's tie rule, label checks, gradient checks.
#include <doctest/doctest.h>

#include <cmath>

#include "gradient_check.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

// softmax([1, 2, 3])
const double p1 = 0.09003057317038046, p2 = 0.24472847105479764, p3 = 0.6652409557748219;

float loss_of(const std::string& yaml, const Tensor& scores_in, const std::vector<float>& labels) {
  Rng rng(1);
  auto layer = make_test_layer(yaml, rng);
  Tensor scores = make_tensor(scores_in.shape(), scores_in.host_data());
  Tensor label = make_tensor({static_cast<int64_t>(labels.size())}, labels);
  Tensor loss;
  layer->reshape({&scores, &label}, {&loss});
  layer->forward({&scores, &label}, {&loss});
  REQUIRE(loss.count() == 1);
  return loss.host_data()[0];
}

float accuracy_of(const std::string& yaml, const Tensor& scores_in,
                  const std::vector<float>& labels) {
  Rng rng(1);
  auto layer = make_test_layer(yaml, rng);
  Tensor scores = make_tensor(scores_in.shape(), scores_in.host_data());
  Tensor label = make_tensor({static_cast<int64_t>(labels.size())}, labels);
  Tensor top;
  layer->reshape({&scores, &label}, {&top});
  layer->forward({&scores, &label}, {&top});
  REQUIRE(top.num_axes() == 0);
  return top.host_data()[0];
}

}  // namespace

TEST_CASE("Softmax: a hand-computed row, shift invariance, and the axis") {
  Rng rng(1);
  auto layer = make_test_layer("{name: prob, type: Softmax}", rng);
  // Row 2 is row 1 + 1000: without subtracting the max, exp() would overflow.
  Tensor x = make_tensor({2, 3}, {1, 2, 3, 1001, 1002, 1003});
  Tensor y;
  layer->reshape({&x}, {&y});
  layer->forward({&x}, {&y});
  std::vector<float> v = y.host_data();
  for (int r = 0; r < 2; ++r) {
    CHECK(v[r * 3 + 0] == doctest::Approx(p1).epsilon(1e-6));
    CHECK(v[r * 3 + 1] == doctest::Approx(p2).epsilon(1e-6));
    CHECK(v[r * 3 + 2] == doctest::Approx(p3).epsilon(1e-6));
  }

  // (1, 3, 2): softmax over axis 1 at each of the 2 inner positions; the layout is
  // x[c * 2 + i]. Position 0 holds [1, 2, 3], position 1 holds [0, 0, 0].
  Tensor spatial = make_tensor({1, 3, 2}, {1, 0, 2, 0, 3, 0});
  layer->reshape({&spatial}, {&y});
  layer->forward({&spatial}, {&y});
  v = y.host_data();
  CHECK(v[0] == doctest::Approx(p1));
  CHECK(v[2] == doctest::Approx(p2));
  CHECK(v[4] == doctest::Approx(p3));
  for (int c = 0; c < 3; ++c) CHECK(v[c * 2 + 1] == doctest::Approx(1.0 / 3));

  // axis -1 over (3, 2) rows of 2.
  auto last = make_test_layer("{name: prob, type: Softmax, axis: -1}", rng);
  Tensor pairs = make_tensor({3, 2}, {0, 0, 0, std::log(3.0f), 5, 5});
  last->reshape({&pairs}, {&y});
  last->forward({&pairs}, {&y});
  v = y.host_data();
  CHECK(v[0] == doctest::Approx(0.5));
  CHECK(v[2] == doctest::Approx(0.25));
  CHECK(v[3] == doctest::Approx(0.75));
  CHECK(v[5] == doctest::Approx(0.5));

  auto bad = make_test_layer("{name: prob, type: Softmax, axis: 4}", rng);
  std::string message = error_message([&] { bad->reshape({&x}, {&y}); });
  CHECK(message.find("layer 'prob' (Softmax)") != std::string::npos);
  CHECK(message.find("[2,3]") != std::string::npos);
}

TEST_CASE("SoftmaxWithLoss: hand-computed loss under each normalization") {
  // Row 0: softmax [1, 2, 3], label 2: -log(p3). Row 1: uniform over 3, label 0: log 3.
  Tensor scores = make_tensor({2, 3}, {1, 2, 3, 0, 0, 0});
  const double row0 = -std::log(p3), row1 = std::log(3.0);
  const char* base = "{name: loss, type: SoftmaxWithLoss";
  auto yaml = [&](const std::string& extra) { return std::string(base) + extra + "}"; };
  CHECK(loss_of(yaml(""), scores, {2, 0}) == doctest::Approx((row0 + row1) / 2));
  CHECK(loss_of(yaml(", normalization: NONE"), scores, {2, 0}) == doctest::Approx(row0 + row1));
  CHECK(loss_of(yaml(", normalization: BATCH_SIZE"), scores, {2, 0}) ==
        doctest::Approx((row0 + row1) / 2));
  // ignore_label: VALID divides by the one counted position, BATCH_SIZE by the batch.
  CHECK(loss_of(yaml(", ignore_label: 255"), scores, {2, 255}) == doctest::Approx(row0));
  CHECK(loss_of(yaml(", ignore_label: 255, normalization: BATCH_SIZE"), scores, {2, 255}) ==
        doctest::Approx(row0 / 2));
  // Everything ignored: loss 0, not 0/0.
  CHECK(loss_of(yaml(", ignore_label: -1"), scores, {-1, -1}) == 0.0f);
  // A probability that underflows to 0 is clamped at FLT_MIN: a large finite loss.
  Tensor extreme = make_tensor({1, 2}, {0, 200});
  float big = loss_of(yaml(""), extreme, {0});
  CHECK(std::isfinite(big));
  CHECK(big == doctest::Approx(-std::log(1.17549435e-38)).epsilon(1e-5));

  std::string message = error_message(
      [&] { loss_of("{name: mloss, type: SoftmaxWithLoss, normalization: MEAN}", scores, {0, 0}); });
  CHECK(message.find("VALID") != std::string::npos);
}

TEST_CASE("SoftmaxWithLoss: gradient is loss_weight * (prob - onehot) / normalizer") {
  Rng rng(1);
  auto layer = make_test_layer("{name: loss, type: SoftmaxWithLoss, ignore_label: 7}", rng);
  REQUIRE(layer->is_loss());
  Tensor scores = make_tensor({2, 3}, {1, 2, 3, 0, 0, 0});
  Tensor label = make_tensor({2}, {2, 7});
  Tensor loss;
  layer->reshape({&scores, &label}, {&loss});
  layer->forward({&scores, &label}, {&loss});
  loss.set_grad({2.0f});  // loss weight 2; one valid position
  layer->backward({&loss}, {true, false}, {&scores, &label});
  std::vector<float> g = scores.host_grad();
  CHECK(g[0] == doctest::Approx(2 * p1));
  CHECK(g[1] == doctest::Approx(2 * p2));
  CHECK(g[2] == doctest::Approx(2 * (p3 - 1)));
  for (int i = 3; i < 6; ++i) CHECK(g[i] == 0.0f);  // ignored position
}

TEST_CASE("SoftmaxWithLoss: labels are checked against the scores") {
  Rng rng(1);
  auto layer = make_test_layer("{name: loss, type: SoftmaxWithLoss}", rng);
  Tensor scores({4, 3});
  scores.zero_data();
  Tensor wrong_count = make_tensor({3}, {0, 1, 2});
  Tensor loss;
  std::string message = error_message([&] { layer->reshape({&scores, &wrong_count}, {&loss}); });
  CHECK(message.find("layer 'loss' (SoftmaxWithLoss)") != std::string::npos);
  CHECK(message.find("label count 3") != std::string::npos);
  CHECK(message.find("[4,3]") != std::string::npos);

  Tensor out_of_range = make_tensor({4}, {0, 1, 3, 2});
  layer->reshape({&scores, &out_of_range}, {&loss});
  try {
    layer->forward({&scores, &out_of_range}, {&loss});
    FAIL("a label outside [0, 3) was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::data);
    CHECK(std::string(e.what()).find("label 3 at position 2") != std::string::npos);
  }
}

TEST_CASE("SoftmaxWithLoss: spatial labels (N, H, W) against scores (N, C, H, W)") {
  // Every position: scores [1, 2, 3] over C; labels 2, 2, 0, ignored.
  Tensor scores = make_tensor({1, 3, 2, 2}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  Rng rng(1);
  auto layer = make_test_layer("{name: seg, type: SoftmaxWithLoss, ignore_label: 255}", rng);
  Tensor label = make_tensor({1, 2, 2}, {2, 2, 0, 255});
  Tensor loss, prob;
  layer->reshape({&scores, &label}, {&loss, &prob});
  layer->forward({&scores, &label}, {&loss, &prob});
  CHECK(loss.host_data()[0] == doctest::Approx((-2 * std::log(p3) - std::log(p1)) / 3));
  CHECK(prob.shape() == scores.shape());
  CHECK(prob.host_data()[8] == doctest::Approx(p3));
}

TEST_CASE("Softmax and SoftmaxWithLoss gradients match central differences") {
  Rng rng(11);
  for (const char* yaml : {"{name: s, type: Softmax}", "{name: s, type: Softmax, axis: 2}"}) {
    CAPTURE(yaml);
    auto layer = make_test_layer(yaml, rng);
    Tensor x = random_tensor({2, 4, 3}, rng, -2.0f, 2.0f);
    Tensor y;
    check_layer_gradients(*layer, {&x}, {&y});
  }

  GradientCheckOptions scores_only;
  scores_only.bottoms = {0};
  for (const char* yaml :
       {"{name: l, type: SoftmaxWithLoss}",
        "{name: l, type: SoftmaxWithLoss, ignore_label: 1, normalization: BATCH_SIZE}",
        "{name: l, type: SoftmaxWithLoss, normalization: NONE}"}) {
    CAPTURE(yaml);
    auto layer = make_test_layer(yaml, rng);
    Tensor scores = random_tensor({3, 5, 2}, rng, -3.0f, 3.0f);  // 3 x 2 positions, 5 classes
    std::vector<float> labels(6);
    for (auto& l : labels) l = static_cast<float>(rng.below(5));
    Tensor label = make_tensor({3, 2}, labels);
    Tensor loss;
    check_layer_gradients(*layer, {&scores, &label}, {&loss}, scores_only);
  }
}

TEST_CASE("Accuracy: top_k, Caffe's tie rule, ignore_label") {
  // Row 0 right at top 1; row 1 right only at top 2; row 2 wrong at top 2;
  // row 3 a tie between the true class 0 and class 1: ties count against, a miss at top 1.
  Tensor scores = make_tensor({4, 3}, {0.1f, 0.2f, 0.7f,   //
                                       0.5f, 0.3f, 0.2f,   //
                                       0.6f, 0.3f, 0.1f,   //
                                       0.4f, 0.4f, 0.2f});
  const std::vector<float> labels = {2, 1, 2, 0};
  CHECK(accuracy_of("{name: acc, type: Accuracy}", scores, labels) == doctest::Approx(0.25));
  CHECK(accuracy_of("{name: acc, type: Accuracy, top_k: 2}", scores, labels) ==
        doctest::Approx(0.75));
  CHECK(accuracy_of("{name: acc, type: Accuracy, top_k: 3}", scores, labels) == 1.0f);
  // Ignoring the tied row leaves 1 of 3 right at top 1.
  CHECK(accuracy_of("{name: acc, type: Accuracy, ignore_label: 0}", scores, labels) ==
        doctest::Approx(1.0 / 3));

  Rng rng(1);
  auto layer = make_test_layer("{name: acc, type: Accuracy, top_k: 4}", rng);
  CHECK_FALSE(layer->has_backward());
  Tensor label = make_tensor({4}, labels);
  Tensor top;
  std::string message = error_message([&] { layer->reshape({&scores, &label}, {&top}); });
  CHECK(message.find("top_k") != std::string::npos);
  CHECK(message.find("3 classes") != std::string::npos);
}
