// PLACEHOLDER: to be implemented (session scaffolding).
#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace digits {

void CpuBackend::softmax_forward(int64_t /*outer*/, int64_t /*channels*/, int64_t /*inner*/, const float* /*x*/, float* /*y*/) {
  fail_runtime("cpu backend: softmax_forward is not implemented yet");
}

void CpuBackend::softmax_backward(int64_t /*outer*/, int64_t /*channels*/, int64_t /*inner*/, const float* /*y*/, const float* /*dy*/, float* /*dx*/) {
  fail_runtime("cpu backend: softmax_backward is not implemented yet");
}

double CpuBackend::softmax_loss_forward(int64_t /*outer*/, int64_t /*channels*/, int64_t /*inner*/, const float* /*prob*/, const float* /*label*/, bool /*has_ignore*/, int /*ignore_label*/, int64_t* /*valid*/) {
  fail_runtime("cpu backend: softmax_loss_forward is not implemented yet");
}

void CpuBackend::softmax_loss_backward(int64_t /*outer*/, int64_t /*channels*/, int64_t /*inner*/, const float* /*prob*/, const float* /*label*/, bool /*has_ignore*/, int /*ignore_label*/, float /*scale*/, float* /*dx*/) {
  fail_runtime("cpu backend: softmax_loss_backward is not implemented yet");
}

void CpuBackend::accuracy(int64_t /*outer*/, int64_t /*channels*/, int64_t /*inner*/, const float* /*x*/, const float* /*label*/, int /*top_k*/, bool /*has_ignore*/, int /*ignore_label*/, int64_t* /*correct*/, int64_t* /*valid*/) {
  fail_runtime("cpu backend: accuracy is not implemented yet");
}

}  // namespace digits
