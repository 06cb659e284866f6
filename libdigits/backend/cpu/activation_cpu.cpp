// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::activation_forward(Activation /*act*/, float /*alpha*/, int64_t /*n*/, const float* /*x*/, float* /*y*/) {
  fail_runtime("cpu backend: activation_forward is not implemented yet");
}

void CpuBackend::activation_backward(Activation /*act*/, float /*alpha*/, int64_t /*n*/, const float* /*x*/, const float* /*y*/, const float* /*dy*/, float* /*dx*/) {
  fail_runtime("cpu backend: activation_backward is not implemented yet");
}

void CpuBackend::power_forward(int64_t /*n*/, float /*power*/, float /*scale*/, float /*shift*/, const float* /*x*/, float* /*y*/) {
  fail_runtime("cpu backend: power_forward is not implemented yet");
}

void CpuBackend::power_backward(int64_t /*n*/, float /*power*/, float /*scale*/, float /*shift*/, const float* /*x*/, const float* /*y*/, const float* /*dy*/, float* /*dx*/) {
  fail_runtime("cpu backend: power_backward is not implemented yet");
}

}  // namespace digits
