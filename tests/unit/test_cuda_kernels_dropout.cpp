// CUDA kernels vs the CPU backend: dropout (kernels/dropout_kernels.cu vs
// backend/cpu/dropout_cpu.cpp). The mask is counter-based, so the GPU must draw the CPU's mask
// bit for bit for every seed, offset and ratio.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "kernels/cuda_kernels.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda dropout draws the CPU's mask bit for bit; backward is exact") {
  Rng rng(31);
  const int64_t n = 300001;  // more than one grid pass
  const std::vector<float> x = random_floats(n, rng), dy = random_floats(n, rng);
  DeviceArray<float> dx_in(x), ddy(dy), dmask(n), dy_out(n), dx_out(n);
  struct Case {
    float ratio;
    uint64_t seed, offset;
  };
  for (Case c : {Case{0.5f, 1234, 0}, Case{0.1f, 7, 1000003}, Case{0.9f, 0xdeadbeefcafeULL, 42},
                 Case{0.0f, 5, 0}, Case{0.5f, 1234, (uint64_t(1) << 40) + 17}}) {
    const std::string what = "Dropout(ratio=" + std::to_string(c.ratio) + ",seed=" +
                             std::to_string(c.seed) + ",offset=" + std::to_string(c.offset) + ")";
    std::vector<float> mask(n), y(n), dx(n);
    cpu_backend().dropout_forward(n, c.ratio, c.seed, c.offset, x.data(), mask.data(), y.data());
    cpu_backend().dropout_backward(n, mask.data(), dy.data(), dx.data());
    cuda_dropout_forward(n, c.ratio, c.seed, c.offset, dx_in.get(), dmask.get(), dy_out.get(),
                         nullptr);
    cuda_dropout_backward(n, dmask.get(), ddy.get(), dx_out.get(), nullptr);
    check_close(what + " mask", dmask.host(), mask, 0);
    check_close(what + " forward", dy_out.host(), y, 0);
    check_close(what + " backward", dx_out.host(), dx, 0);
  }
}

TEST_CASE("cuda dropout works in place (y aliases x, dx aliases dy)") {
  Rng rng(32);
  const int64_t n = 1000;
  const std::vector<float> x = random_floats(n, rng);
  std::vector<float> mask(n), y(n), dx(n);
  cpu_backend().dropout_forward(n, 0.3f, 99, 5, x.data(), mask.data(), y.data());
  cpu_backend().dropout_backward(n, mask.data(), y.data(), dx.data());
  DeviceArray<float> data(x), dmask(n);
  cuda_dropout_forward(n, 0.3f, 99, 5, data.get(), dmask.get(), data.get(), nullptr);
  check_close("in-place forward", data.host(), y, 0);
  cuda_dropout_backward(n, dmask.get(), data.get(), data.get(), nullptr);
  check_close("in-place backward", data.host(), dx, 0);
}

TEST_CASE("cuda dropout rejects a ratio outside [0, 1)") {
  DeviceArray<float> a(4), b(4), c(4);
  CHECK_THROWS(cuda_dropout_forward(4, 1.0f, 1, 0, a.get(), b.get(), c.get(), nullptr));
  CHECK_THROWS(cuda_dropout_forward(4, -0.1f, 1, 0, a.get(), b.get(), c.get(), nullptr));
}

#endif  // DIGITS_HAVE_CUDA
