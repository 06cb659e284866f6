// CUDA kernels vs the CPU backend: Caffe's Power layer forward and backward
// (kernels/power_kernels.cu vs power_forward/backward in backend/cpu/activation_cpu.cpp),
// through every special case the CPU has (power 1, 2, 0; scale 0).
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "kernels/cuda_kernels.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda power forward/backward match the CPU within 1e-5") {
  Rng rng(21);
  const int64_t n = 10007;
  // x in [0.5, 1.5] with shift and scale >= 0 keeps the base in [0.85, 2.15]: away from 0, where a
  // one-ulp difference in the base would be a large relative difference in a fractional power.
  const std::vector<float> x = random_floats(n, rng, 0.5f, 1.5f), dy = random_floats(n, rng);
  DeviceArray<float> dx_in(x), ddy(dy), dy_out(n), dx_out(n);
  struct Case {
    float power, scale, shift;
  };
  for (Case c : {Case{1.0f, 1.3f, 0.2f}, Case{2.0f, 1.3f, 0.2f}, Case{0.5f, 1.3f, 0.2f},
                 Case{3.0f, 1.3f, 0.2f}, Case{-1.5f, 1.3f, 0.2f}, Case{0.0f, 1.3f, 0.2f},
                 Case{2.5f, 0.0f, 1.7f}}) {
    const std::string what = "Power(power=" + std::to_string(c.power) + ",scale=" +
                             std::to_string(c.scale) + ",shift=" + std::to_string(c.shift) + ")";
    std::vector<float> y(n), dx(n);
    cpu_backend().power_forward(n, c.power, c.scale, c.shift, x.data(), y.data());
    cpu_backend().power_backward(n, c.power, c.scale, c.shift, x.data(), y.data(), dy.data(),
                                 dx.data());
    cuda_power_forward(n, c.power, c.scale, c.shift, dx_in.get(), dy_out.get(), nullptr);
    cuda_power_backward(n, c.power, c.scale, c.shift, dx_in.get(), dy_out.get(), ddy.get(),
                        dx_out.get(), nullptr);
    // powf is within 2 ulp on the GPU and the base may be one fused multiply-add: a few ulp,
    // times the power, stays below 1e-5.
    check_close(what + " forward", dy_out.host(), y, 1e-5);
    check_close(what + " backward", dx_out.host(), dx, 1e-5);
  }
}

#endif  // DIGITS_HAVE_CUDA
