// CUDA kernels vs the CPU backend: the fused update of every solver
// (kernels/solver_kernels.cu vs backend/cpu/solver_cpu.cpp), several steps with weight decay,
// comparing weights, gradients (which hold g + decay * w afterwards) and history.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "kernels/cuda_kernels.h"

using namespace digits;
using namespace digits::testing;

namespace {
const char* solver_name(SolverType type) {
  switch (type) {
    case SolverType::sgd: return "sgd";
    case SolverType::nesterov: return "nesterov";
    case SolverType::adagrad: return "adagrad";
    case SolverType::rmsprop: return "rmsprop";
    case SolverType::adadelta: return "adadelta";
    case SolverType::adam: return "adam";
  }
  return "?";
}
}  // namespace

TEST_CASE("cuda solver updates match the CPU within 1e-5 over several steps") {
  const int64_t n = 100003;
  for (SolverType type : {SolverType::sgd, SolverType::nesterov, SolverType::adagrad,
                          SolverType::rmsprop, SolverType::adadelta, SolverType::adam}) {
    Rng rng(61);
    SolverStep step;
    step.type = type;
    step.lr = 0.05f;
    step.momentum = type == SolverType::adadelta ? 0.95f : 0.9f;
    step.weight_decay = 5e-4f;
    step.delta = type == SolverType::adadelta ? 1e-6f : 1e-8f;
    std::vector<float> w = random_floats(n, rng), h1(n, 0.0f), h2(n, 0.0f);
    DeviceArray<float> dw(w), dg(n), dh1(h1), dh2(h2);
    for (int64_t t = 1; t <= 4; ++t) {
      const std::string what = std::string("solver ") + solver_name(type) + " step " +
                               std::to_string(t);
      step.t = t;
      std::vector<float> g = random_floats(n, rng);
      dg.upload(g);
      cpu_backend().solver_update(step, n, w.data(), g.data(), h1.data(), h2.data());
      cuda_solver_update(step, n, dw.get(), dg.get(), dh1.get(), dh2.get(), nullptr);
      // The GPU fuses products and sums into multiply-adds (one rounding instead of two) and
      // its sqrtf and division are IEEE-exact like the CPU's: a few ulp per step.
      check_close(what + " gradient", dg.host(), g, 1e-6);
      check_close(what + " weights", dw.host(), w, 1e-5);
      check_close(what + " history 1", dh1.host(), h1, 1e-5);
      if (type == SolverType::adadelta || type == SolverType::adam)
        check_close(what + " history 2", dh2.host(), h2, 1e-5);
      // Continue both from the CPU's state, so errors do not compound across steps.
      dw.upload(w);
      dh1.upload(h1);
      dh2.upload(h2);
    }
  }
}

TEST_CASE("cuda solver update rejects missing history and adam's t = 0") {
  DeviceArray<float> w(4), g(4), h(4);
  SolverStep step;
  step.type = SolverType::adam;
  step.t = 1;
  CHECK_THROWS(cuda_solver_update(step, 4, w.get(), g.get(), h.get(), nullptr, nullptr));
  step.t = 0;
  CHECK_THROWS(cuda_solver_update(step, 4, w.get(), g.get(), h.get(), h.get(), nullptr));
  step.type = SolverType::sgd;
  CHECK_THROWS(cuda_solver_update(step, 4, w.get(), g.get(), nullptr, nullptr, nullptr));
}

#endif  // DIGITS_HAVE_CUDA
