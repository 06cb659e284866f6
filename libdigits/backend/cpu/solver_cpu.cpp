// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::solver_update(const SolverStep& /*step*/, int64_t /*n*/, float* /*w*/, float* /*g*/, float* /*h1*/, float* /*h2*/) {
  fail_runtime("cpu backend: solver_update is not implemented yet");
}

}  // namespace digits
