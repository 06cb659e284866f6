// bench-train-step: whole training iterations of a network on one device, for
// scripts/bench-gpu.sh (built with everything, never installed).
//
//   bench-train-step NETWORK.yaml BATCH ITERATIONS REPEATS DEVICE
//
// One iteration is what digits-train does per batch once the batch is on the device: forward
// (the loss comes back to the host, as the trainer reads it), backward, and an SGD step with
// momentum 0.9 and weight decay 5e-4 (which also clears the gradients). Inputs are random and
// stay on the device, as they do on the PyTorch side of the script. The throughput is the best of
// REPEATS blocks of ITERATIONS iterations, each block timed from a synchronized start to a
// synchronized end, after warm-up iterations (cuDNN algorithm choice, workspace growth, first
// touches of memory). Unlike `digits-train benchmark`, nothing synchronizes between layers.
// Prints one JSON line:
//   {"kind": "net", "name", "batch", "params", "device", "images_per_s", "ms_per_iter"}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/net.h"
#include "nn/net_spec.h"
#include "train/solver.h"
#include "tool_common.h"

using namespace digits;

namespace {

using Clock = std::chrono::steady_clock;

void fill_inputs(Net& net, int64_t classes) {
  Rng rng(7);
  for (const std::string& name : net.input_names()) {
    Tensor& t = net.blob(name);
    std::vector<float> values(static_cast<size_t>(t.count()));
    for (float& v : values)
      v = name == "label" ? static_cast<float>(rng.below(static_cast<uint64_t>(classes)))
                          : rng.uniform(-1.0f, 1.0f);
    t.set_data(values);
  }
}

int run(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s NETWORK.yaml BATCH ITERATIONS REPEATS DEVICE\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int64_t batch = std::stoll(argv[2]);
  const int iterations = std::stoi(argv[3]);
  const int repeats = std::stoi(argv[4]);
  Backend& backend = backend_for(argv[5]);

  NetSpec spec = load_net_spec(path);
  Net net(spec, Phase::train, batch, backend, 1);
  fill_inputs(net, spec.classes > 0 ? spec.classes : 10);
  std::vector<SolverParam> params;
  for (auto& ref : net.params())
    params.push_back({ref.name, &ref.param->value, ref.param->lr_mult, ref.param->decay_mult,
                      ref.param->learnable});
  SolverConfig config;
  config.base_lr = 0.01;
  config.momentum = 0.9;
  config.weight_decay = 5e-4;
  Solver solver(config, params, backend);

  int64_t it = 0;
  auto iteration = [&] {
    net.forward(static_cast<uint64_t>(it));
    net.backward();
    solver.step(it, 1);
    ++it;
  };
  for (int i = 0; i < 3; ++i) iteration();  // warm-up
  backend.synchronize();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) iteration();
    backend.synchronize();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count() / iterations);
  }
  std::printf("{\"kind\": \"net\", \"name\": \"%s\", \"batch\": %lld, \"params\": %lld, "
              "\"device\": \"%s\", \"images_per_s\": %.1f, \"ms_per_iter\": %.3f}\n",
              spec.name.c_str(), static_cast<long long>(batch),
              static_cast<long long>(net.num_learnable_parameters()), backend.name().c_str(),
              batch / best, best * 1e3);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return digits::run_tool("bench-train-step", [&] { return run(argc, argv); });
}
