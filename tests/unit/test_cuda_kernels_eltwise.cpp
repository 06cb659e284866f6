// CUDA kernels vs the CPU backend: Eltwise sum/prod/max forward and backward, and the Scale
// layer's channel_scale (kernels/eltwise_kernels.cu, kernels/channel_scale_kernels.cu vs
// backend/cpu/eltwise_cpu.cpp, batchnorm_cpu.cpp). Input counts cover one pass and several
// passes of kCudaEltwiseMaxInputsPerPass.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <memory>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "kernels/cuda_kernels.h"

using namespace digits;
using namespace digits::testing;

namespace {
const char* op_name(EltwiseOp op) {
  return op == EltwiseOp::sum ? "sum" : op == EltwiseOp::prod ? "prod" : "max";
}
}  // namespace

TEST_CASE("cuda eltwise forward/backward match the CPU (prod and max exact, sum within 1e-5)") {
  Rng rng(51);
  const int64_t n = 70001;
  for (EltwiseOp op : {EltwiseOp::sum, EltwiseOp::prod, EltwiseOp::max})
    for (int inputs : {1, 2, 3, kCudaEltwiseMaxInputsPerPass, kCudaEltwiseMaxInputsPerPass + 3,
                       2 * kCudaEltwiseMaxInputsPerPass + 1})
      for (bool with_coeffs : {false, true}) {
        if (with_coeffs && op != EltwiseOp::sum) continue;
        const std::string what = std::string("Eltwise(") + op_name(op) + ",inputs=" +
                                 std::to_string(inputs) + (with_coeffs ? ",coeffs" : "") + ")";
        // prod: values near 1 so the product of 17 inputs stays a normal float.
        std::vector<std::vector<float>> xs;
        std::vector<std::unique_ptr<DeviceArray<float>>> dxs;
        std::vector<const float*> host_ptrs, device_ptrs;
        for (int k = 0; k < inputs; ++k) {
          xs.push_back(op == EltwiseOp::prod ? random_floats(n, rng, 0.5f, 1.5f)
                                             : random_floats(n, rng));
          // A few exact ties between inputs, so the first-winner rule of max is exercised.
          if (k > 0)
            for (int64_t j = 0; j < n; j += 11) xs[k][j] = xs[0][j];
          dxs.push_back(std::make_unique<DeviceArray<float>>(xs.back()));
          host_ptrs.push_back(xs.back().data());
          device_ptrs.push_back(dxs.back()->get());
        }
        std::vector<float> coeffs;
        for (int k = 0; k < inputs; ++k) coeffs.push_back(rng.uniform(-2.0f, 2.0f));
        const float* coeff_ptr = with_coeffs ? coeffs.data() : nullptr;

        std::vector<float> y(n), argmax(n);
        cpu_backend().eltwise_forward(op, n, inputs, host_ptrs.data(), coeff_ptr, y.data(),
                                      argmax.data());
        DeviceArray<float> dy(n), dargmax(n);
        cuda_eltwise_forward(op, n, inputs, device_ptrs.data(), coeff_ptr, dy.get(),
                             dargmax.get(), nullptr);
        // sum: the GPU fuses coeff * x + total into one multiply-add, so each of up to 17 steps
        // may round differently by half an ulp of a running total of a few units; prod and max
        // do the same float operations in the same order as the CPU.
        check_close(what + " forward", dy.host(), y, op == EltwiseOp::sum ? 1e-5 : 0);
        if (op == EltwiseOp::max) check_close(what + " argmax", dargmax.host(), argmax, 0);

        const std::vector<float> grad = random_floats(n, rng);
        DeviceArray<float> dgrad(grad), ddx(n);
        for (int k : {0, inputs - 1}) {
          std::vector<float> dx(n);
          cpu_backend().eltwise_backward(op, n, k, xs[k].data(), y.data(), grad.data(),
                                         coeffs[k], argmax.data(), dx.data());
          // Backward from the CPU's y and argmax, so only the backward kernel is compared.
          DeviceArray<float> cpu_y(y), cpu_argmax(argmax);
          cuda_eltwise_backward(op, n, k, dxs[k]->get(), cpu_y.get(), dgrad.get(), coeffs[k],
                                cpu_argmax.get(), ddx.get(), nullptr);
          check_close(what + " backward input " + std::to_string(k), ddx.host(), dx, 0);
        }
      }
}

TEST_CASE("cuda eltwise forward may write into its first input") {
  Rng rng(52);
  const int64_t n = 1000;
  const std::vector<float> a = random_floats(n, rng), b = random_floats(n, rng);
  std::vector<float> y(n), argmax(n);
  const float* host_ptrs[] = {a.data(), b.data()};
  cpu_backend().eltwise_forward(EltwiseOp::max, n, 2, host_ptrs, nullptr, y.data(),
                                argmax.data());
  DeviceArray<float> da(a), db(b), dargmax(n);
  const float* device_ptrs[] = {da.get(), db.get()};
  cuda_eltwise_forward(EltwiseOp::max, n, 2, device_ptrs, nullptr, da.get(), dargmax.get(),
                       nullptr);
  check_close("in-place max", da.host(), y, 0);
  check_close("in-place argmax", dargmax.host(), argmax, 0);
}

TEST_CASE("cuda channel_scale forward within 1e-6; backward dx exact, parameter sums 1e-6") {
  Rng rng(53);
  struct Case {
    int64_t n, c, spatial;
  };
  for (Case s : {Case{2, 3, 50}, Case{64, 100, 1}, Case{3, 1, 70000}})
    for (bool with_beta : {false, true}) {
      const std::string what = "ChannelScale(n=" + std::to_string(s.n) + ",c=" +
                               std::to_string(s.c) + ",spatial=" + std::to_string(s.spatial) +
                               (with_beta ? ",beta" : "") + ")";
      const int64_t total = s.n * s.c * s.spatial;
      const std::vector<float> x = random_floats(total, rng), gamma = random_floats(s.c, rng),
                               beta = random_floats(s.c, rng), dy = random_floats(total, rng),
                               dgamma0 = random_floats(s.c, rng),
                               dbeta0 = random_floats(s.c, rng);
      DeviceArray<float> dx_in(x), dgamma_in(gamma), dbeta_in(beta), ddy(dy), dy_out(total),
          ddx(total), ddgamma(dgamma0), ddbeta(dbeta0);
      std::vector<float> y(total), dx(total), dgamma = dgamma0, dbeta = dbeta0;
      cpu_backend().channel_scale_forward(s.n, s.c, s.spatial, x.data(), gamma.data(),
                                          with_beta ? beta.data() : nullptr, y.data());
      cuda_channel_scale_forward(s.n, s.c, s.spatial, dx_in.get(), dgamma_in.get(),
                                 with_beta ? dbeta_in.get() : nullptr, dy_out.get(), nullptr);
      // x * gamma + beta is one fused multiply-add on the GPU.
      check_close(what + " forward", dy_out.host(), y, 1e-6);

      cpu_backend().channel_scale_backward(s.n, s.c, s.spatial, x.data(), gamma.data(), dy.data(),
                                           dx.data(), dgamma.data(),
                                           with_beta ? dbeta.data() : nullptr);
      cuda_channel_scale_backward(s.n, s.c, s.spatial, dx_in.get(), dgamma_in.get(), ddy.get(),
                                  ddx.get(), ddgamma.get(), with_beta ? ddbeta.get() : nullptr,
                                  nullptr);
      check_close(what + " dx", ddx.host(), dx, 0);
      // Double sums in a different order, rounded once to float.
      check_close(what + " dgamma", ddgamma.host(), dgamma, 1e-6);
      check_close(what + " dbeta", ddbeta.host(), dbeta, 1e-6);
    }
}

TEST_CASE("cuda channel_scale backward in place (dx aliases dy)") {
  Rng rng(54);
  const int64_t n = 4, c = 5, spatial = 300, total = n * c * spatial;
  const std::vector<float> x = random_floats(total, rng), gamma = random_floats(c, rng),
                           dy = random_floats(total, rng);
  std::vector<float> dx(total), dgamma(c, 0.0f);
  cpu_backend().channel_scale_backward(n, c, spatial, x.data(), gamma.data(), dy.data(),
                                       dx.data(), dgamma.data(), nullptr);
  DeviceArray<float> dx_in(x), dgamma_in(gamma), grad(dy), ddgamma(std::vector<float>(c, 0.0f));
  cuda_channel_scale_backward(n, c, spatial, dx_in.get(), dgamma_in.get(), grad.get(), grad.get(),
                              ddgamma.get(), nullptr, nullptr);
  check_close("in-place dx", grad.host(), dx, 0);
  check_close("in-place dgamma", ddgamma.host(), dgamma, 1e-6);
}

#endif  // DIGITS_HAVE_CUDA
