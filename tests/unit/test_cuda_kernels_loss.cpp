// CUDA kernels vs the CPU backend: softmax loss forward/backward and top-k accuracy
// (kernels/loss_kernels.cu vs backend/cpu/softmax_cpu.cpp), with ignored positions, Caffe's tie
// rule, spatial (inner > 1) outputs, and labels the CPU would reject.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <cstring>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "kernels/cuda_kernels.h"
#include "layer_test_util.h"

using namespace digits;
using namespace digits::testing;

namespace {

struct Shape3 {
  int64_t outer, channels, inner;
  std::string describe() const {
    return "(outer=" + std::to_string(outer) + ",channels=" + std::to_string(channels) +
           ",inner=" + std::to_string(inner) + ")";
  }
};

// Classification (inner 1), segmentation-like (inner > 1), and more positions than one grid
// pass of the reduction covers.
const Shape3 kShapes[] = {{64, 10, 1}, {2, 5, 37}, {1, 1000, 1}, {300000, 3, 1}};

// Class indices as floats; about one position in seven holds the ignore label when given.
std::vector<float> random_labels(const Shape3& s, Rng& rng, bool with_ignore, int ignore_label) {
  std::vector<float> label(s.outer * s.inner);
  for (auto& l : label) {
    l = static_cast<float>(rng.below(s.channels));
    if (with_ignore && rng.below(7) == 0) l = static_cast<float>(ignore_label);
  }
  return label;
}

}  // namespace

TEST_CASE("cuda softmax loss matches the CPU: sum within 1e-10, count exact, gradient exact") {
  Rng rng(41);
  DeviceArray<unsigned char> scratch(cuda_reduce_scratch_bytes());
  DeviceArray<CudaLabelResult> result(1);
  for (const Shape3& s : kShapes)
    for (bool has_ignore : {false, true}) {
      const std::string what = "SoftmaxLoss" + s.describe() + (has_ignore ? " ignore=255" : "");
      const int ignore_label = 255;
      const int64_t n = s.outer * s.channels * s.inner;
      std::vector<float> prob(n);
      const std::vector<float> x = random_floats(n, rng, -4.0f, 4.0f);
      cpu_backend().softmax_forward(s.outer, s.channels, s.inner, x.data(), prob.data());
      const std::vector<float> label = random_labels(s, rng, has_ignore, ignore_label);
      DeviceArray<float> dprob(prob), dlabel(label), ddx(n);

      int64_t cpu_valid = 0;
      const double cpu_loss = cpu_backend().softmax_loss_forward(
          s.outer, s.channels, s.inner, prob.data(), label.data(), has_ignore, ignore_label,
          &cpu_valid);
      cuda_softmax_loss_forward(s.outer, s.channels, s.inner, dprob.get(), dlabel.get(),
                                has_ignore, ignore_label, result.get(), scratch.get(), nullptr);
      const CudaLabelResult gpu = result.host()[0];
      // Both add -log(double) terms in double, in different orders.
      check_close(what + " loss", gpu.loss, cpu_loss, 1e-10);
      CHECK(gpu.valid == cpu_valid);
      CHECK(gpu.bad_labels == 0);
      CHECK(gpu.first_bad == -1);

      // Run to run: the same bits.
      cuda_softmax_loss_forward(s.outer, s.channels, s.inner, dprob.get(), dlabel.get(),
                                has_ignore, ignore_label, result.get(), scratch.get(), nullptr);
      const double again = result.host()[0].loss;
      CHECK(std::memcmp(&again, &gpu.loss, sizeof(double)) == 0);

      // scale * (prob - target): the same two float operations on both sides.
      const float scale = 1.0f / static_cast<float>(std::max<int64_t>(cpu_valid, 1));
      std::vector<float> dx(n);
      cpu_backend().softmax_loss_backward(s.outer, s.channels, s.inner, prob.data(), label.data(),
                                          has_ignore, ignore_label, scale, dx.data());
      cuda_softmax_loss_backward(s.outer, s.channels, s.inner, dprob.get(), dlabel.get(),
                                 has_ignore, ignore_label, scale, ddx.get(), nullptr);
      check_close(what + " backward", ddx.host(), dx, 0);
    }
}

TEST_CASE("cuda accuracy counts exactly what the CPU counts, ties against") {
  Rng rng(42);
  DeviceArray<unsigned char> scratch(cuda_reduce_scratch_bytes());
  DeviceArray<CudaLabelResult> result(1);
  for (const Shape3& s : kShapes)
    for (bool has_ignore : {false, true})
      for (bool ties : {false, true})
        for (int top_k : {1, 3}) {
          const std::string what = "Accuracy" + s.describe() + " top_k=" + std::to_string(top_k) +
                                   (has_ignore ? " ignore=-1" : "") + (ties ? " ties" : "");
          const int ignore_label = -1;
          const int64_t n = s.outer * s.channels * s.inner;
          std::vector<float> x = random_floats(n, rng);
          // Scores from {0, 1, 2, 3}: ties between the true class and others everywhere.
          if (ties)
            for (auto& v : x) v = static_cast<float>(rng.below(4));
          const std::vector<float> label = random_labels(s, rng, has_ignore, ignore_label);
          DeviceArray<float> dx(x), dlabel(label);
          int64_t cpu_correct = 0, cpu_valid = 0;
          cpu_backend().accuracy(s.outer, s.channels, s.inner, x.data(), label.data(), top_k,
                                 has_ignore, ignore_label, &cpu_correct, &cpu_valid);
          cuda_accuracy(s.outer, s.channels, s.inner, dx.get(), dlabel.get(), top_k, has_ignore,
                        ignore_label, result.get(), scratch.get(), nullptr);
          const CudaLabelResult gpu = result.host()[0];
          CAPTURE(what);
          CHECK(gpu.correct == cpu_correct);
          CHECK(gpu.valid == cpu_valid);
          CHECK(gpu.bad_labels == 0);
        }
}

TEST_CASE("cuda accuracy: a known answer with ties") {
  // 3 positions x 3 classes. Position 0: true class 0 scores 2, alone at the top: hit.
  // Position 1: true class 1 ties class 2 at the top: a miss for top-1, a hit for top-2.
  // Position 2: true class 2 is last: a miss for top-1 and top-2.
  const std::vector<float> x = {2, 1, 0, /**/ 0, 5, 5, /**/ 3, 2, 1};
  const std::vector<float> label = {0, 1, 2};
  DeviceArray<float> dx(x), dlabel(label);
  DeviceArray<unsigned char> scratch(cuda_reduce_scratch_bytes());
  DeviceArray<CudaLabelResult> result(1);
  cuda_accuracy(3, 3, 1, dx.get(), dlabel.get(), 1, false, 0, result.get(), scratch.get(),
                nullptr);
  CHECK(result.host()[0].correct == 1);
  cuda_accuracy(3, 3, 1, dx.get(), dlabel.get(), 2, false, 0, result.get(), scratch.get(),
                nullptr);
  CHECK(result.host()[0].correct == 2);
  CHECK(result.host()[0].valid == 3);
}

TEST_CASE("cuda loss and accuracy report labels that are not class indices, reading nothing") {
  // 10 positions, 4 classes. Position 3 holds 12 (out of range), 7 holds 2.5, 8 holds -1
  // (no ignore label set): three bad positions, the first at 3. The CPU backend throws for these.
  std::vector<float> label = {0, 1, 2, 12, 3, 0, 1, 2.5f, -1, 3};
  Rng rng(43);
  const std::vector<float> x = random_floats(40, rng, 0.01f, 1.0f);
  DeviceArray<float> dx(x), dlabel(label), dgrad(40);
  DeviceArray<unsigned char> scratch(cuda_reduce_scratch_bytes());
  DeviceArray<CudaLabelResult> loss(1);
  DeviceArray<CudaLabelResult> accuracy(1);
  cuda_softmax_loss_forward(10, 4, 1, dx.get(), dlabel.get(), false, 0, loss.get(), scratch.get(),
                            nullptr);
  cuda_accuracy(10, 4, 1, dx.get(), dlabel.get(), 1, false, 0, accuracy.get(), scratch.get(),
                nullptr);
  const CudaLabelResult l = loss.host()[0];
  const CudaLabelResult a = accuracy.host()[0];
  CHECK(l.bad_labels == 3);
  CHECK(l.first_bad == 3);
  CHECK(l.first_bad_label == 12.0f);
  CHECK(l.valid == 7);
  CHECK(a.bad_labels == 3);
  CHECK(a.first_bad == 3);
  CHECK(a.valid == 7);
  // The gradient is zero at the bad positions.
  cuda_softmax_loss_backward(10, 4, 1, dx.get(), dlabel.get(), false, 0, 1.0f, dgrad.get(),
                             nullptr);
  const std::vector<float> grad = dgrad.host();
  for (int p : {3, 7, 8})
    for (int c = 0; c < 4; ++c) CHECK(grad[p * 4 + c] == 0.0f);
  CHECK(grad[0] == x[0] - 1.0f);
}

TEST_CASE("SoftmaxWithLoss and Accuracy on the GPU: labels stay on the device, bad ones named") {
  // The layers no longer copy labels to the host to check them: the backend's own check must
  // still give the layer's location, the position and the value, as a data error.
  Backend& gpu = backend_for("gpu:0");
  Rng rng(44);
  for (const char* yaml : {"{name: loss, type: SoftmaxWithLoss, ignore_label: 255}",
                           "{name: acc, type: Accuracy, ignore_label: 255}"}) {
    CAPTURE(yaml);
    LayerConfig config(YAML::Load(yaml), "net.yaml", 3);
    auto layer = find_layer_type(config.type)->make(config, LayerContext{&gpu, Phase::train, &rng, 1});
    Tensor scores(Shape{4, 3}, Device::cuda), label(Shape{4}, Device::cuda), top(Shape{0}, Device::cuda);
    scores.set_data(random_floats(12, rng));
    layer->reshape({&scores, &label}, {&top});
    label.set_data({0, 255, 2, 1});
    layer->forward({&scores, &label}, {&top});  // valid and ignored labels pass
    label.set_data({0, 1, 3, 2});
    try {
      layer->forward({&scores, &label}, {&top});
      FAIL("a label outside [0, 3) was accepted");
    } catch (const Error& e) {
      const std::string message = e.what();
      CAPTURE(message);
      CHECK(e.code() == ExitCode::data);
      CHECK(message.find(config.where()) != std::string::npos);
      CHECK(message.find("label 3 at position 2") != std::string::npos);
      CHECK(message.find("nor ignore_label 255") != std::string::npos);
    }
  }
}

#endif  // DIGITS_HAVE_CUDA
