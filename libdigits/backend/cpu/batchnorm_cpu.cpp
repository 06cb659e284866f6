// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::batchnorm_forward_train(int64_t /*n*/, int64_t /*c*/, int64_t /*spatial*/, float /*eps*/, float /*momentum*/, const float* /*x*/, float* /*y*/, float* /*running_mean*/, float* /*running_var*/, float* /*save_mean*/, float* /*save_invstd*/) {
  fail_runtime("cpu backend: batchnorm_forward_train is not implemented yet");
}

void CpuBackend::batchnorm_forward_inference(int64_t /*n*/, int64_t /*c*/, int64_t /*spatial*/, float /*eps*/, const float* /*x*/, const float* /*running_mean*/, const float* /*running_var*/, float* /*y*/) {
  fail_runtime("cpu backend: batchnorm_forward_inference is not implemented yet");
}

void CpuBackend::batchnorm_backward(int64_t /*n*/, int64_t /*c*/, int64_t /*spatial*/, const float* /*x*/, const float* /*dy*/, const float* /*save_mean*/, const float* /*save_invstd*/, float* /*dx*/) {
  fail_runtime("cpu backend: batchnorm_backward is not implemented yet");
}

void CpuBackend::channel_scale_forward(int64_t /*n*/, int64_t /*c*/, int64_t /*spatial*/, const float* /*x*/, const float* /*gamma*/, const float* /*beta*/, float* /*y*/) {
  fail_runtime("cpu backend: channel_scale_forward is not implemented yet");
}

void CpuBackend::channel_scale_backward(int64_t /*n*/, int64_t /*c*/, int64_t /*spatial*/, const float* /*x*/, const float* /*gamma*/, const float* /*dy*/, float* /*dx*/, float* /*dgamma*/, float* /*dbeta*/) {
  fail_runtime("cpu backend: channel_scale_backward is not implemented yet");
}

}  // namespace digits
