// CUDA backend activations (kernels/activation_cuda.cu) vs the CPU backend, forward and
// backward (through y, as layers call them in place), also in place. ReLU (plain and leaky)
// is one compare and one multiply on both sides: bit-identical. sigmoid, tanh and ELU use CUDA's
// expf/tanhf/expm1f (at most 2 ulp) against glibc's (1 ulp): within 1e-6 of the output's scale.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda_test_util.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda activations match the CPU backend, forward and backward, also in place") {
  Backend& gpu = backend_for("gpu:0");
  Backend& cpu = cpu_backend();
  Rng rng(51);
  struct Case {
    Activation act;
    float alpha;
    const char* name;
    double bound;
  };
  const Case cases[] = {{Activation::relu, 0.0f, "relu", 0},
                        {Activation::relu, 0.1f, "leaky relu 0.1", 0},
                        {Activation::sigmoid, 0.0f, "sigmoid", 1e-6},
                        {Activation::tanh, 0.0f, "tanh", 1e-6},
                        {Activation::elu, 1.0f, "elu 1", 1e-6},
                        {Activation::elu, 0.5f, "elu 0.5", 1e-6}};
  for (const Case& c : cases)
    for (int64_t n : {int64_t(1), int64_t(1000), int64_t(300001)}) {
      const std::string what = std::string(c.name) + " n=" + std::to_string(n);
      CAPTURE(what);
      std::vector<float> x = random_floats(n, rng, -6.0f, 6.0f);
      x[0] = 0.0f;  // the kink
      const auto dy = random_floats(n, rng);
      DeviceArray<float> gx(x), gy(n), gdy(dy), gdx(n);
      std::vector<float> y(n), dx(n);
      cpu.activation_forward(c.act, c.alpha, n, x.data(), y.data());
      gpu.activation_forward(c.act, c.alpha, n, gx.get(), gy.get());
      check_close(what + " forward", gy.host(), y, c.bound);
      // Backward from the CPU's y on both sides, so only the backward formula is compared.
      DeviceArray<float> gy_cpu(y);
      cpu.activation_backward(c.act, c.alpha, n, y.data(), y.data(), dy.data(), dx.data());
      gpu.activation_backward(c.act, c.alpha, n, gy_cpu.get(), gy_cpu.get(), gdy.get(), gdx.get());
      check_close(what + " backward", gdx.host(), dx, c.bound);
      // In place: x overwritten by y, dy by dx.
      gpu.activation_forward(c.act, c.alpha, n, gx.get(), gx.get());
      check_close(what + " forward in place", gx.host(), y, c.bound);
      gpu.activation_backward(c.act, c.alpha, n, gy_cpu.get(), gy_cpu.get(), gdy.get(), gdy.get());
      check_close(what + " backward in place", gdy.host(), dx, c.bound);
    }
}

#endif  // DIGITS_HAVE_CUDA
