// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::eltwise_forward(EltwiseOp /*op*/, int64_t /*n*/, int /*num_inputs*/, const float* const* /*xs*/, const float* /*coeffs*/, float* /*y*/, float* /*argmax*/) {
  fail_runtime("cpu backend: eltwise_forward is not implemented yet");
}

void CpuBackend::eltwise_backward(EltwiseOp /*op*/, int64_t /*n*/, int /*input_index*/, const float* /*x*/, const float* /*y*/, const float* /*dy*/, float /*coeff*/, const float* /*argmax*/, float* /*dx*/) {
  fail_runtime("cpu backend: eltwise_backward is not implemented yet");
}

}  // namespace digits
