// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::pool_forward(const PoolShape& /*s*/, const float* /*x*/, float* /*y*/, float* /*mask*/) {
  fail_runtime("cpu backend: pool_forward is not implemented yet");
}

void CpuBackend::pool_backward(const PoolShape& /*s*/, const float* /*x*/, const float* /*y*/, const float* /*dy*/, const float* /*mask*/, float* /*dx*/) {
  fail_runtime("cpu backend: pool_backward is not implemented yet");
}

}  // namespace digits
