// Whole networks on the GPU vs the CPU backend: LeNet and AlexNet (configs/networks) built with
// the same seed (so the same initial weights), fed the same batch: every top blob after forward,
// every parameter gradient after backward, and every weight after a few SGD steps (momentum,
// weight decay, dropout masks drawn per iteration) must agree.
//
// Bounds (relative to each tensor's scale; see cuda_test_util.h):
//  - forward: LeNet 1e-4, AlexNet 1e-3. Each layer adds a few float roundings relative to its
//    output (cuDNN's algorithms, cuBLAS's summation order); AlexNet has 8 weight layers of up to
//    9216-term sums, LeNet 4 of up to 800.
//  - gradients and weights: measured as ||gpu - cpu|| / ||cpu|| over the whole tensor, bound
//    LeNet 1e-4, AlexNet 5e-3. Max pooling routes each gradient to one input; where two window
//    values are equal to within float rounding, the GPU and CPU may pick different ones, which
//    moves a few gradient entries by O(dy). The norm bounds such rare flips while a wrong op
//    (a layer's gradient off by a factor, a lost accumulation) is off by O(1).
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "nn/net.h"
#include "nn/net_spec.h"
#include "train/solver.h"

using namespace digits;
using namespace digits::testing;

namespace {

double normwise_error(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  REQUIRE(gpu.size() == cpu.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double d = double(gpu[i]) - double(cpu[i]);
    diff += d * d;
    norm += double(cpu[i]) * cpu[i];
  }
  if (std::isnan(diff)) return diff;
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

void check_normwise(const std::string& what, const std::vector<float>& gpu,
                    const std::vector<float>& cpu, double bound) {
  const double err = normwise_error(gpu, cpu);
  INFO(what << ": ||gpu - cpu|| / ||cpu|| = " << err << " (bound " << bound << ")");
  CHECK(err <= bound);
}

std::vector<SolverParam> solver_params(Net& net) {
  std::vector<SolverParam> params;
  for (const Net::ParamRef& ref : net.params())
    params.push_back({ref.name, &ref.param->value, ref.param->lr_mult, ref.param->decay_mult,
                      ref.param->learnable});
  return params;
}

// The same random batch into both nets: data uniform in [lo, hi), labels below `classes`.
void feed(Net& cpu, Net& gpu, Rng& rng, float lo, float hi, int64_t classes) {
  std::vector<float> data = random_floats(cpu.blob("data").count(), rng, lo, hi);
  std::vector<float> label(static_cast<size_t>(cpu.blob("label").count()));
  for (auto& v : label) v = static_cast<float>(rng.below(static_cast<uint64_t>(classes)));
  cpu.blob("data").set_data(data);
  cpu.blob("label").set_data(label);
  gpu.backend().upload(static_cast<int64_t>(data.size()), data.data(), gpu.blob("data").data());
  gpu.backend().upload(static_cast<int64_t>(label.size()), label.data(),
                       gpu.blob("label").data());
}

struct Bounds {
  double forward, loss, gradient;
};

void compare_network(const std::string& network, int64_t batch, float lo, float hi,
                     int64_t classes, int steps, Bounds bounds) {
  Backend& gpu_backend = backend_for("gpu:0");
  const NetSpec spec = load_net_spec(find_network(network));
  Net cpu(spec, Phase::train, batch, cpu_backend(), 7);
  Net gpu(spec, Phase::train, batch, gpu_backend, 7);
  auto cpu_params = cpu.params(), gpu_params = gpu.params();
  REQUIRE(cpu_params.size() == gpu_params.size());
  for (size_t i = 0; i < cpu_params.size(); ++i)
    check_close(network + " initial " + cpu_params[i].name, gpu_params[i].param->value.host_data(),
                cpu_params[i].param->value.host_data(), 0);

  SolverConfig config;
  config.type = SolverType::sgd;
  config.base_lr = 0.01;
  config.momentum = 0.9;
  config.weight_decay = 5e-4;
  config.lr_policy.type = LrPolicyType::fixed;
  Solver cpu_solver(config, solver_params(cpu), cpu_backend());
  Solver gpu_solver(config, solver_params(gpu), gpu_backend);

  Rng rng(17);
  for (int step = 0; step < steps; ++step) {
    const std::string at = network + " step " + std::to_string(step);
    feed(cpu, gpu, rng, lo, hi, classes);
    const double cpu_loss = cpu.forward(static_cast<uint64_t>(step));
    const double gpu_loss = gpu.forward(static_cast<uint64_t>(step));
    check_close(at + " loss", gpu_loss, cpu_loss, bounds.loss);
    for (size_t i = 0; i < cpu.layers().size(); ++i)
      for (const std::string& top : cpu.layer_top_names(i))
        check_close(at + " forward " + top, gpu.blob(top).host_data(), cpu.blob(top).host_data(),
                    bounds.forward);
    cpu.backward();
    gpu.backward();
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      if (!cpu_params[i].param->learnable) continue;
      check_normwise(at + " gradient " + cpu_params[i].name,
                     gpu_params[i].param->value.host_grad(),
                     cpu_params[i].param->value.host_grad(), bounds.gradient);
    }
    cpu_solver.step(step, 1);
    gpu_solver.step(step, 1);
    for (size_t i = 0; i < cpu_params.size(); ++i)
      check_normwise(at + " updated " + cpu_params[i].name,
                     gpu_params[i].param->value.host_data(),
                     cpu_params[i].param->value.host_data(), bounds.gradient);
  }
}

}  // namespace

TEST_CASE("LeNet on the GPU matches the CPU: forward, backward, 3 SGD steps") {
  compare_network("lenet", 16, 0.0f, 1.0f, 10, 3, Bounds{1e-4, 1e-5, 1e-4});
}

TEST_CASE("AlexNet on the GPU matches the CPU: forward, backward, 2 SGD steps") {
  compare_network("alexnet", 2, -50.0f, 50.0f, 1000, 2, Bounds{1e-3, 1e-4, 5e-3});
}

#endif  // DIGITS_HAVE_CUDA
