// Solver state files: exact save/restore (history, iteration, the caller's entries), continuing
// bit-identically, and clear errors when the state does not fit the solver.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "train/safetensors.h"
#include "train/solver_state.h"

using namespace digits;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    pattern += "/digits-test-solverstate-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    for (const char* name : {"state.safetensors", "weights.safetensors", "other.safetensors"})
      ::unlink((path + "/" + name).c_str());
    ::rmdir(path.c_str());
  }
};

// A two-parameter "network" with gradients that vary by iteration.
struct Model {
  Tensor weight{Shape{2, 3}};
  Tensor bias{Shape{2}};
  Model() {
    weight.set_data({0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f});
    bias.set_data({0.01f, -0.02f});
  }
  std::vector<SolverParam> params() {
    return {{"fc.weight", &weight, 1.0f, 1.0f, true}, {"fc.bias", &bias, 2.0f, 0.0f, true}};
  }
  void set_grads(int iteration) {
    std::vector<float> gw(6), gb(2);
    for (int i = 0; i < 6; ++i) gw[i] = 0.1f * static_cast<float>((i * 7 + iteration * 3) % 5) - 0.2f;
    for (int i = 0; i < 2; ++i) gb[i] = 0.05f * static_cast<float>(iteration + i) - 0.1f;
    weight.set_grad(gw);
    bias.set_grad(gb);
  }
};

SolverConfig adam_config() {
  SolverConfig config;
  config.type = SolverType::adam;
  config.base_lr = 0.01;
  config.weight_decay = 0.001;
  config.lr_policy.type = LrPolicyType::step;
  config.lr_policy.step_size = 2;
  config.lr_policy.gamma = 0.5;
  return config;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

}  // namespace

TEST_CASE("solver state round trip is exact and training continues bit-identically") {
  TempDir dir;
  const std::string path = dir.path + "/state.safetensors";
  Model original;
  Solver solver(adam_config(), original.params(), cpu_backend());
  for (int i = 0; i < 3; ++i) {
    original.set_grads(i);
    solver.step(i, 1);
  }
  save_solver_state(path, solver, {{"rng.train", "1 2 3 4"}, {"cursor.train", "96"}});

  // The file is plain safetensors: history named after the parameters.
  SafetensorsFile file = load_safetensors(path);
  CHECK(file.names == std::vector<std::string>(
                          {"fc.bias.h1", "fc.bias.h2", "fc.weight.h1", "fc.weight.h2"}));
  CHECK(file.metadata.at("format") == "digits.solverstate");
  CHECK(file.metadata.at("solver_type") == "adam");
  CHECK(file.metadata.at("iteration") == "3");

  // A resumed run: same weights (as a weights snapshot would restore), fresh solver, state loaded.
  Model resumed;
  resumed.weight.copy_data_from(original.weight);
  resumed.bias.copy_data_from(original.bias);
  Solver restored(adam_config(), resumed.params(), cpu_backend());
  std::map<std::string, std::string> extra = load_solver_state(path, restored);
  CHECK(extra == std::map<std::string, std::string>({{"rng.train", "1 2 3 4"}, {"cursor.train", "96"}}));
  CHECK(restored.iteration() == 3);
  for (size_t p = 0; p < 2; ++p) {
    CHECK(same_bits(restored.history()[p].h1.host_data(), solver.history()[p].h1.host_data()));
    CHECK(same_bits(restored.history()[p].h2.host_data(), solver.history()[p].h2.host_data()));
  }
  // Both continue for three more iterations (crossing a step of the lr policy): identical bits.
  for (int i = 3; i < 6; ++i) {
    original.set_grads(i);
    solver.step(solver.iteration(), 1);
    resumed.set_grads(i);
    restored.step(restored.iteration(), 1);
  }
  CHECK(same_bits(resumed.weight.host_data(), original.weight.host_data()));
  CHECK(same_bits(resumed.bias.host_data(), original.bias.host_data()));
  CHECK(restored.iteration() == 6);
}

TEST_CASE("solver state that does not fit is refused, and leaves the solver unchanged") {
  TempDir dir;
  const std::string path = dir.path + "/state.safetensors";
  Model model;
  Solver adam(adam_config(), model.params(), cpu_backend());
  model.set_grads(0);
  adam.step(0, 1);
  save_solver_state(path, adam, {});

  auto error_of = [&](Solver& solver, const std::string& file) {
    try {
      load_solver_state(file, solver);
    } catch (const Error& e) {
      return std::make_pair(e.code(), std::string(e.what()));
    }
    return std::make_pair(ExitCode::ok, std::string("no error"));
  };

  // A different solver type: the job's spec changed (usage).
  SolverConfig sgd_config = adam_config();
  sgd_config.type = SolverType::sgd;
  Model other;
  Solver sgd(sgd_config, other.params(), cpu_backend());
  auto [code, message] = error_of(sgd, path);
  CHECK(code == ExitCode::usage);
  CHECK(message.find("written by the adam solver, but the job now uses sgd") != std::string::npos);
  CHECK(sgd.iteration() == 0);

  // A network with a different parameter shape, or without a parameter: data errors.
  Tensor wide({2, 4}), bias({2});
  Solver mismatched(adam_config(), {{"fc.weight", &wide, 1, 1, true}, {"fc.bias", &bias, 1, 1, true}},
                    cpu_backend());
  std::tie(code, message) = error_of(mismatched, path);
  CHECK(code == ExitCode::data);
  CHECK(message.find("tensor 'fc.weight.h1' has shape [2,3], but the parameter 'fc.weight' has "
                     "shape [2,4]") != std::string::npos);
  CHECK(mismatched.history()[1].h1.host_data() == std::vector<float>(2, 0.0f));  // untouched

  Tensor only_weight({2, 3});
  Solver fewer(adam_config(), {{"fc.weight", &only_weight, 1, 1, true}}, cpu_backend());
  std::tie(code, message) = error_of(fewer, path);
  CHECK(code == ExitCode::data);
  CHECK(message.find("tensor 'fc.bias.h1' is history for a parameter this network does not "
                     "have") != std::string::npos);

  Tensor w2({2, 3}), b2({2}), extra({5});
  Solver more(adam_config(),
              {{"fc.weight", &w2, 1, 1, true}, {"fc.bias", &b2, 1, 1, true},
               {"fc2.weight", &extra, 1, 1, true}},
              cpu_backend());
  std::tie(code, message) = error_of(more, path);
  CHECK(code == ExitCode::data);
  CHECK(message.find("no tensor named 'fc2.weight.h1'") != std::string::npos);

  // A weights file is not a solver state.
  Tensor w3({2});
  save_safetensors(dir.path + "/weights.safetensors", {{"fc.bias", &w3}}, {{"format", "pt"}});
  std::tie(code, message) = error_of(adam, dir.path + "/weights.safetensors");
  CHECK(code == ExitCode::data);
  CHECK(message.find("not a digits solver state: format is \"pt\"") != std::string::npos);

  // A newer format version, and a corrupt iteration.
  SafetensorsFile state = load_safetensors(path);
  std::vector<Tensor> copies;
  copies.reserve(state.names.size());
  std::vector<std::pair<std::string, const Tensor*>> tensors;
  for (const std::string& name : state.names) {
    copies.emplace_back(state.tensor(name).shape);
    copies.back().set_data(state.tensor(name).data);
    tensors.emplace_back(name, &copies.back());
  }
  std::map<std::string, std::string> meta = state.metadata;
  meta["format_version"] = "2";
  save_safetensors(dir.path + "/other.safetensors", tensors, meta);
  std::tie(code, message) = error_of(adam, dir.path + "/other.safetensors");
  CHECK(code == ExitCode::data);
  CHECK(message.find("solver state format version \"2\" is not supported") != std::string::npos);
  meta["format_version"] = "1";
  meta["iteration"] = "-5";
  save_safetensors(dir.path + "/other.safetensors", tensors, meta);
  std::tie(code, message) = error_of(adam, dir.path + "/other.safetensors");
  CHECK(code == ExitCode::data);
  CHECK(message.find("\"iteration\" must be a non-negative integer, got \"-5\"") !=
        std::string::npos);
  CHECK(adam.iteration() == 1);
}
