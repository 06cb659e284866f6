// CUDA kernels vs the CPU backend: set, copy, axpy, scale, sum_squares, copy_2d, add_bias,
// bias_backward (kernels/math_kernels.cu vs backend/cpu/math_cpu.cpp). Sizes cover one
// element, a partial block, and more elements than one grid pass of a reduction holds.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <cstring>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "kernels/cuda_kernels.h"

using namespace digits;
using namespace digits::testing;

namespace {
// 1 element; a partial block; several blocks; more than kReduceBlocks * 256 (grid-stride loop).
const int64_t kSizes[] = {1, 77, 5000, 300001};
}  // namespace

TEST_CASE("cuda set, copy, scale are exact; axpy within 1e-6") {
  Rng rng(11);
  for (int64_t n : kSizes) {
    CAPTURE(n);
    const std::vector<float> x = random_floats(n, rng), y0 = random_floats(n, rng);
    DeviceArray<float> dx(x), dy(y0);

    cuda_set(n, 0.25f, dy.get(), nullptr);
    std::vector<float> cpu = y0;
    cpu_backend().set(n, 0.25f, cpu.data());
    check_close("set", dy.host(), cpu, 0);

    cuda_copy(n, dx.get(), dy.get(), nullptr);
    check_close("copy", dy.host(), x, 0);

    dy.upload(y0);
    cuda_scale(n, -1.7f, dy.get(), nullptr);
    cpu = y0;
    cpu_backend().scale(n, -1.7f, cpu.data());
    check_close("scale", dy.host(), cpu, 0);  // one IEEE multiply on both sides

    // The GPU contracts y + a * x into one fused multiply-add (one rounding instead of two).
    dy.upload(y0);
    cuda_axpy(n, 0.3f, dx.get(), dy.get(), nullptr);
    cpu = y0;
    cpu_backend().axpy(n, 0.3f, x.data(), cpu.data());
    check_close("axpy", dy.host(), cpu, 1e-6);
  }
}

TEST_CASE("cuda sum_squares matches the CPU to 1e-12 and is identical run to run") {
  Rng rng(12);
  DeviceArray<unsigned char> scratch(cuda_reduce_scratch_bytes());
  DeviceArray<double> result(1);
  for (int64_t n : kSizes) {
    CAPTURE(n);
    const std::vector<float> x = random_floats(n, rng, -3.0f, 3.0f);
    DeviceArray<float> dx(x);
    cuda_sum_squares(n, dx.get(), result.get(), scratch.get(), nullptr);
    const double first = result.host()[0];
    // Both sum in double, in different orders: the difference is double rounding only.
    check_close("sum_squares(n=" + std::to_string(n) + ")", first,
                cpu_backend().sum_squares(n, x.data()), 1e-12);
    cuda_sum_squares(n, dx.get(), result.get(), scratch.get(), nullptr);
    const double second = result.host()[0];
    CHECK(std::memcmp(&first, &second, sizeof(double)) == 0);
  }
  cuda_sum_squares(0, nullptr, result.get(), scratch.get(), nullptr);
  CHECK(result.host()[0] == 0.0);
}

TEST_CASE("cuda copy_2d copies strided blocks exactly (concat and split)") {
  Rng rng(13);
  // Concat of a (rows, 3) block into columns [5, 8) of a (rows, 11) block, then the split back.
  for (int64_t rows : {1, 7, 1000}) {
    CAPTURE(rows);
    const std::vector<float> src = random_floats(rows * 3, rng), dst0 = random_floats(rows * 11, rng);
    DeviceArray<float> dsrc(src), ddst(dst0);
    cuda_copy_2d(rows, 3, dsrc.get(), 3, ddst.get() + 5, 11, nullptr);
    std::vector<float> cpu = dst0;
    cpu_backend().copy_2d(rows, 3, src.data(), 3, cpu.data() + 5, 11);
    check_close("copy_2d concat", ddst.host(), cpu, 0);

    DeviceArray<float> back(rows * 3);
    cuda_copy_2d(rows, 3, ddst.get() + 5, 11, back.get(), 3, nullptr);
    check_close("copy_2d split", back.host(), src, 0);
  }
}

TEST_CASE("cuda add_bias is exact; bias_backward accumulates within 1e-6") {
  Rng rng(14);
  struct Case {
    int64_t outer, channels, inner;
  };
  // Inner product (inner 1), a convolution output, a single channel with many values.
  for (Case c : {Case{64, 10, 1}, Case{4, 16, 13 * 13}, Case{3, 1, 70000}, Case{1, 1, 1}}) {
    const std::string what = "bias(outer=" + std::to_string(c.outer) + ",channels=" +
                             std::to_string(c.channels) + ",inner=" + std::to_string(c.inner) +
                             ")";
    const int64_t n = c.outer * c.channels * c.inner;
    const std::vector<float> bias = random_floats(c.channels, rng), y0 = random_floats(n, rng);
    DeviceArray<float> dbias_in(bias), dy(y0);
    cuda_add_bias(c.outer, c.channels, c.inner, dbias_in.get(), dy.get(), nullptr);
    std::vector<float> cpu = y0;
    cpu_backend().add_bias(c.outer, c.channels, c.inner, bias.data(), cpu.data());
    check_close(what + " add_bias", dy.host(), cpu, 0);  // one float add per element

    // `+=` into a nonzero gradient. Both sum in double and round once to float; the order
    // differs, so the float can differ in its last bit.
    const std::vector<float> grad0 = random_floats(c.channels, rng);
    DeviceArray<float> dgrad(grad0), dgrad_source(y0);
    cuda_bias_backward(c.outer, c.channels, c.inner, dgrad_source.get(), dgrad.get(), nullptr);
    std::vector<float> cpu_grad = grad0;
    cpu_backend().bias_backward(c.outer, c.channels, c.inner, y0.data(), cpu_grad.data());
    const std::vector<float> first = dgrad.host();
    check_close(what + " bias_backward", first, cpu_grad, 1e-6);

    // Run to run: the same inputs give the same bits.
    dgrad.upload(grad0);
    cuda_bias_backward(c.outer, c.channels, c.inner, dgrad_source.get(), dgrad.get(), nullptr);
    check_close(what + " bias_backward rerun", dgrad.host(), first, 0);
  }
}

#endif  // DIGITS_HAVE_CUDA
