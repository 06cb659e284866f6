// Elementwise activations on the GPU, as backend/cpu/activation_cpu.cpp (the spec): ReLU with
// Caffe's negative slope, sigmoid, tanh, ELU; backward through y only.
#include "kernels/cuda_ops.h"
#include "kernels/kernel_util.cuh"

namespace digits {

namespace {

using kernels::elementwise_blocks;
using kernels::kThreads;

__global__ void activation_forward_kernel(Activation act, float alpha, int64_t n, const float* x,
                                          float* y) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float v = x[i];
    switch (act) {
      case Activation::relu:
        y[i] = v > 0.0f ? v : alpha * v;
        break;
      case Activation::sigmoid:
        y[i] = 1.0f / (1.0f + expf(-v));
        break;
      case Activation::tanh:
        y[i] = tanhf(v);
        break;
      case Activation::elu:
        y[i] = v > 0.0f ? v : alpha * expm1f(v);
        break;
    }
  }
}

__global__ void activation_backward_kernel(Activation act, float alpha, int64_t n, const float* y,
                                           const float* dy, float* dx) {
  DIGITS_KERNEL_LOOP(i, n) {
    const float out = y[i], grad = dy[i];
    switch (act) {
      case Activation::relu:
        dx[i] = out > 0.0f ? grad : alpha * grad;
        break;
      case Activation::sigmoid:
        dx[i] = grad * out * (1.0f - out);
        break;
      case Activation::tanh:
        dx[i] = grad * (1.0f - out * out);
        break;
      case Activation::elu:
        dx[i] = out > 0.0f ? grad : grad * (out + alpha);
        break;
    }
  }
}

void check_activation(Activation act, const char* launcher) {
  CUDA_REQUIRE(act == Activation::relu || act == Activation::sigmoid ||
                   act == Activation::tanh || act == Activation::elu,
               launcher);
}

}  // namespace

void cuda_activation_forward(Activation act, float alpha, int64_t n, const float* x, float* y,
                             cudaStream_t stream) {
  check_activation(act, "cuda_activation_forward");
  if (n == 0) return;
  activation_forward_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(act, alpha, n, x, y);
  CUDA_CHECK_LAUNCH("activation_forward_kernel");
}

void cuda_activation_backward(Activation act, float alpha, int64_t n, const float* y,
                              const float* dy, float* dx, cudaStream_t stream) {
  check_activation(act, "cuda_activation_backward");
  if (n == 0) return;
  activation_backward_kernel<<<elementwise_blocks(n), kThreads, 0, stream>>>(act, alpha, n, y, dy,
                                                                             dx);
  CUDA_CHECK_LAUNCH("activation_backward_kernel");
}

}  // namespace digits
