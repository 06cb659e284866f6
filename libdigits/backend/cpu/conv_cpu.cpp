// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::conv_forward(const ConvShape& /*s*/, const float* /*x*/, const float* /*w*/, const float* /*bias*/, float* /*y*/) {
  fail_runtime("cpu backend: conv_forward is not implemented yet");
}

void CpuBackend::conv_backward_data(const ConvShape& /*s*/, const float* /*w*/, const float* /*dy*/, float* /*dx*/) {
  fail_runtime("cpu backend: conv_backward_data is not implemented yet");
}

void CpuBackend::conv_backward_filter(const ConvShape& /*s*/, const float* /*x*/, const float* /*dy*/, float* /*dw*/, float* /*dbias*/) {
  fail_runtime("cpu backend: conv_backward_filter is not implemented yet");
}

}  // namespace digits
