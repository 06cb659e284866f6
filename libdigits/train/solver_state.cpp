// Solver state files (format in solver_state.h).
#include "train/solver_state.h"

#include <set>

#include "core/error.h"
#include "train/safetensors.h"

namespace digits {

namespace {

const std::set<std::string> kReservedKeys = {"format", "format_version", "solver_type",
                                             "iteration"};

int64_t parse_iteration(const std::string& text, const std::string& path) {
  int64_t value = 0;
  bool ok = !text.empty() && text.size() <= 18;
  for (char c : text) {
    if (c < '0' || c > '9') ok = false;
    if (ok) value = value * 10 + (c - '0');
  }
  if (!ok) fail_data("{}: metadata \"iteration\" must be a non-negative integer, got \"{}\"", path, text);
  return value;
}

}  // namespace

void save_solver_state(const std::string& path, const Solver& solver,
                       const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : extra) {
    DIGITS_CHECK(kReservedKeys.count(key) == 0, "solver state: extra key '{}' is reserved", key);
    metadata[key] = value;
  }
  metadata.emplace("format", kSolverStateFormat);
  metadata.emplace("format_version", kSolverStateFormatVersion);
  metadata.emplace("solver_type", solver_type_name(solver.config().type));
  metadata.emplace("iteration", std::to_string(solver.iteration()));

  std::vector<std::pair<std::string, const Tensor*>> tensors;
  for (const Solver::History& history : solver.history()) {
    tensors.emplace_back(history.name + ".h1", &history.h1);
    if (solver_history_count(solver.config().type) == 2)
      tensors.emplace_back(history.name + ".h2", &history.h2);
  }
  save_safetensors(path, tensors, metadata);
}

std::map<std::string, std::string> load_solver_state(const std::string& path, Solver& solver) {
  SafetensorsFile file = load_safetensors(path);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end())
      fail_data("{}: not a digits solver state: metadata \"{}\" is missing", path, key);
    return it->second;
  };
  if (meta("format") != kSolverStateFormat)
    fail_data("{}: not a digits solver state: format is \"{}\", expected \"{}\"", path,
              meta("format"), kSolverStateFormat);
  if (meta("format_version") != kSolverStateFormatVersion)
    fail_data("{}: solver state format version \"{}\" is not supported (this digits reads \"{}\")",
              path, meta("format_version"), kSolverStateFormatVersion);
  const char* type = solver_type_name(solver.config().type);
  if (meta("solver_type") != type)
    fail_usage("{}: the solver state was written by the {} solver, but the job now uses {}; "
               "resume with solver.type={} or start a new job",
               path, meta("solver_type"), type, meta("solver_type"));
  const int64_t iteration = parse_iteration(meta("iteration"), path);

  // Check everything before changing anything.
  const int buffers = solver_history_count(solver.config().type);
  std::set<std::string> expected;
  for (const Solver::History& history : solver.history()) {
    for (int b = 1; b <= buffers; ++b) {
      std::string name = history.name + (b == 1 ? ".h1" : ".h2");
      expected.insert(name);
      const SafetensorsTensor& stored = file.tensor(name);  // error names a missing tensor
      if (stored.dtype != "F32")
        fail_data("{}: tensor '{}': solver history must be F32, got {}", path, name, stored.dtype);
      if (stored.shape != history.h1.shape())
        fail_data("{}: tensor '{}' has shape {}, but the parameter '{}' has shape {}", path, name,
                  shape_string(stored.shape), history.name, history.h1.shape_string());
    }
  }
  for (const std::string& name : file.names)
    if (expected.count(name) == 0)
      fail_data("{}: tensor '{}' is history for a parameter this network does not have", path,
                name);

  for (Solver::History& history : solver.history()) {
    history.h1.set_data(file.tensor(history.name + ".h1").data);
    if (buffers == 2) history.h2.set_data(file.tensor(history.name + ".h2").data);
  }
  solver.set_iteration(iteration);

  std::map<std::string, std::string> extra;
  for (const auto& [key, value] : file.metadata)
    if (kReservedKeys.count(key) == 0) extra[key] = value;
  return extra;
}

}  // namespace digits
