// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::lrn_forward(const LrnParams& /*p*/, int64_t /*n*/, int64_t /*c*/, int64_t /*h*/, int64_t /*w*/, const float* /*x*/, float* /*scale*/, float* /*y*/) {
  fail_runtime("cpu backend: lrn_forward is not implemented yet");
}

void CpuBackend::lrn_backward(const LrnParams& /*p*/, int64_t /*n*/, int64_t /*c*/, int64_t /*h*/, int64_t /*w*/, const float* /*x*/, const float* /*y*/, const float* /*scale*/, const float* /*dy*/, float* /*dx*/) {
  fail_runtime("cpu backend: lrn_backward is not implemented yet");
}

}  // namespace digits
