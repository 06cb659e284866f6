// The solver's state beside the weights, for exact resume: a second safetensors file
// (snapshots/epoch_N.solverstate.safetensors) holding
//   tensors   "<param>.h1" (and "<param>.h2" for adadelta/adam), the solver's history
//   metadata  "format": "digits.solverstate", "format_version": "1", "solver_type": "sgd",
//             "iteration": completed updates, plus the caller's own entries (RNG states, the
//             data cursor: opaque strings to this module).
// Floats are stored as F32 bytes, so a load restores them bit for bit.
#pragma once

#include <map>
#include <string>

#include "train/solver.h"

namespace digits {

constexpr const char* kSolverStateFormat = "digits.solverstate";
constexpr const char* kSolverStateFormatVersion = "1";

// Writes the state (atomically, as save_safetensors does). `extra` keys may not be one of the
// reserved ones above (a bug in the caller otherwise).
void save_solver_state(const std::string& path, const Solver& solver,
                       const std::map<std::string, std::string>& extra);

// Restores history and iteration into `solver` and returns the caller's entries. The file must
// be a solver state of this format version, for the same solver type, with exactly the solver's
// parameters and shapes; otherwise nothing is changed and the error (data, or usage for a
// different solver type) says what differs.
std::map<std::string, std::string> load_solver_state(const std::string& path, Solver& solver);

}  // namespace digits
