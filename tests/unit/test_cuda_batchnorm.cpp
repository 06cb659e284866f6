// CUDA backend batch norm (cuDNN spatial mode) vs the CPU backend: training forward (output,
// saved mean and inverse std, running mean and variance updates with the unbiased variance),
// inference forward, backward. The CPU sums in double in two passes; cuDNN in float in its own
// order: 1e-5 of the scale for the statistics, 1e-4 for outputs and gradients (normalizing
// multiplies the statistics' rounding by up to |x - mean| * invstd).
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda_test_util.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda batch norm matches the CPU backend: train, inference, backward") {
  Backend& gpu = backend_for("gpu:0");
  Backend& cpu = cpu_backend();
  Rng rng(81);
  struct Dims {
    int64_t n, c, spatial;
  };
  for (Dims d : {Dims{4, 3, 25}, Dims{32, 16, 1}, Dims{2, 64, 49}, Dims{8, 5, 1000}}) {
    const std::string what = "batchnorm(n=" + std::to_string(d.n) + ",c=" + std::to_string(d.c) +
                             ",spatial=" + std::to_string(d.spatial) + ")";
    CAPTURE(what);
    const int64_t count = d.n * d.c * d.spatial;
    const float eps = 1e-5f, momentum = 0.9f;
    // An offset mean, as real activations have.
    const auto x = random_floats(count, rng, -1.0f, 3.0f), dy = random_floats(count, rng);
    const auto rmean0 = random_floats(d.c, rng), rvar0 = random_floats(d.c, rng, 0.5f, 2.0f);
    DeviceArray<float> gx(x), gy(count), gdy(dy), gdx(count), grmean(rmean0), grvar(rvar0),
        gsmean(d.c), gsinv(d.c);
    std::vector<float> y(count), dx(count), rmean = rmean0, rvar = rvar0, smean(d.c), sinv(d.c);

    cpu.batchnorm_forward_train(d.n, d.c, d.spatial, eps, momentum, x.data(), y.data(),
                                rmean.data(), rvar.data(), smean.data(), sinv.data());
    gpu.batchnorm_forward_train(d.n, d.c, d.spatial, eps, momentum, gx.get(), gy.get(),
                                grmean.get(), grvar.get(), gsmean.get(), gsinv.get());
    check_close(what + " train y", gy.host(), y, 1e-4);
    check_close(what + " saved mean", gsmean.host(), smean, 1e-5);
    check_close(what + " saved inverse std", gsinv.host(), sinv, 1e-5);
    check_close(what + " running mean", grmean.host(), rmean, 1e-5);
    check_close(what + " running variance (unbiased)", grvar.host(), rvar, 1e-5);

    cpu.batchnorm_forward_inference(d.n, d.c, d.spatial, eps, x.data(), rmean.data(), rvar.data(),
                                    y.data());
    DeviceArray<float> grmean_cpu(rmean), grvar_cpu(rvar);
    gpu.batchnorm_forward_inference(d.n, d.c, d.spatial, eps, gx.get(), grmean_cpu.get(),
                                    grvar_cpu.get(), gy.get());
    check_close(what + " inference y", gy.host(), y, 1e-5);

    DeviceArray<float> gsmean_cpu(smean), gsinv_cpu(sinv);
    cpu.batchnorm_backward(d.n, d.c, d.spatial, x.data(), dy.data(), smean.data(), sinv.data(),
                           dx.data());
    gpu.batchnorm_backward(d.n, d.c, d.spatial, gx.get(), gdy.get(), gsmean_cpu.get(),
                           gsinv_cpu.get(), gdx.get());
    check_close(what + " backward", gdx.host(), dx, 1e-4);
  }
}

TEST_CASE("cuda batch norm over one value per channel is the CPU's, bit for bit") {
  // n * spatial = 1: cuDNN's unbiased running variance would be 0/0; both backends use the
  // biased variance (0) there, y = 0 and dx = 0, and the same float and double operations.
  Backend& gpu = backend_for("gpu:0");
  Backend& cpu = cpu_backend();
  Rng rng(83);
  const int64_t c = 37;
  const float eps = 1e-5f, momentum = 0.999f;
  const auto x = random_floats(c, rng, -1.0f, 3.0f), dy = random_floats(c, rng);
  const auto rmean0 = random_floats(c, rng), rvar0 = random_floats(c, rng, 0.5f, 2.0f);
  std::vector<float> y(c), dx(c), rmean = rmean0, rvar = rvar0, smean(c), sinv(c);
  DeviceArray<float> gx(x), gy(c), gdy(dy), gdx(c), grmean(rmean0), grvar(rvar0), gsmean(c),
      gsinv(c);
  cpu.batchnorm_forward_train(1, c, 1, eps, momentum, x.data(), y.data(), rmean.data(),
                              rvar.data(), smean.data(), sinv.data());
  gpu.batchnorm_forward_train(1, c, 1, eps, momentum, gx.get(), gy.get(), grmean.get(),
                              grvar.get(), gsmean.get(), gsinv.get());
  check_close("one value: train y", gy.host(), y, 0);
  check_close("one value: saved mean", gsmean.host(), smean, 0);
  check_close("one value: saved inverse std", gsinv.host(), sinv, 0);
  check_close("one value: running mean", grmean.host(), rmean, 0);
  check_close("one value: running variance", grvar.host(), rvar, 0);
  for (float v : gy.host()) CHECK(v == 0.0f);
  cpu.batchnorm_backward(1, c, 1, x.data(), dy.data(), smean.data(), sinv.data(), dx.data());
  gpu.batchnorm_backward(1, c, 1, gx.get(), gdy.get(), gsmean.get(), gsinv.get(), gdx.get());
  check_close("one value: backward", gdx.host(), dx, 0);
}

#endif  // DIGITS_HAVE_CUDA
