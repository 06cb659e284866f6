// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::dropout_forward(int64_t /*n*/, float /*ratio*/, uint64_t /*seed*/, uint64_t /*offset*/, const float* /*x*/, float* /*mask*/, float* /*y*/) {
  fail_runtime("cpu backend: dropout_forward is not implemented yet");
}

void CpuBackend::dropout_backward(int64_t /*n*/, const float* /*mask*/, const float* /*dy*/, float* /*dx*/) {
  fail_runtime("cpu backend: dropout_backward is not implemented yet");
}

}  // namespace digits
