// Solver-state files (train/solver_state): what digits-train --resume reads beside a snapshot.
// The state is loaded into an Adam solver over two parameters (fc.weight 2x3, fc.bias 2), the
// shapes the seed corpus was written for, so inputs that get past the safetensors checks reach
// the solver-state checks (format, solver type, names, shapes, iteration).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor.h"
#include "fuzz_util.h"
#include "train/solver.h"
#include "train/solver_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static digits::fuzz::InputFile input("state.solverstate.safetensors");
  const std::string& path = input.write(data, size);
  digits::Tensor weight{digits::Shape{2, 3}}, bias{digits::Shape{2}};
  std::vector<digits::SolverParam> params = {{"fc.weight", &weight, 1.0f, 1.0f, true},
                                             {"fc.bias", &bias, 1.0f, 0.0f, true}};
  digits::SolverConfig config;
  config.type = digits::SolverType::adam;
  config.base_lr = 0.001;
  config.lr_policy.type = digits::LrPolicyType::fixed;
  digits::Solver solver(config, params, digits::cpu_backend());
  digits::fuzz::expect_clean_rejection([&] {
    digits::load_solver_state(path, solver);
    if (solver.iteration() < 0) digits::fuzz::bug("negative iteration restored", "");
  });
  return 0;
}
