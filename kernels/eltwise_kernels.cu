// Caffe's Eltwise on the GPU; the CPU twin is backend/cpu/eltwise_cpu.cpp. Inputs are combined
// in order 0..num_inputs-1 exactly as on the CPU. A kernel takes up to
// kCudaEltwiseMaxInputsPerPass input pointers by value; more inputs take several passes, each
// continuing from the running result held in y (and argmax).
#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

// One pass's inputs, passed by value as a kernel argument.
struct EltwisePass {
  const float* xs[kCudaEltwiseMaxInputsPerPass];
  float coeffs[kCudaEltwiseMaxInputsPerPass];
  int count;       // inputs in this pass
  int first;       // index of xs[0] among all inputs (argmax values)
  bool continues;  // a later pass: start from y (and argmax) instead of the first input
};

// sum: y = sum coeffs[k] * xs[k], starting from 0 (first pass) or y.
__global__ void eltwise_sum_kernel(int64_t n, EltwisePass pass, float* y) {
  DIGITS_KERNEL_LOOP(j, n) {
    float total = pass.continues ? y[j] : 0.0f;
    for (int k = 0; k < pass.count; ++k) total += pass.coeffs[k] * pass.xs[k][j];
    y[j] = total;
  }
}

// prod: y = prod xs[k], starting from xs[0] (first pass) or y.
__global__ void eltwise_prod_kernel(int64_t n, EltwisePass pass, float* y) {
  DIGITS_KERNEL_LOOP(j, n) {
    float product = pass.continues ? y[j] * pass.xs[0][j] : pass.xs[0][j];
    for (int k = 1; k < pass.count; ++k) product *= pass.xs[k][j];
    y[j] = product;
  }
}

// max: y = max xs[k]; argmax = index of the first input holding it (strict >, as on the CPU).
__global__ void eltwise_max_kernel(int64_t n, EltwisePass pass, float* y, float* argmax) {
  DIGITS_KERNEL_LOOP(j, n) {
    float best;
    int winner;
    int k = 0;
    if (pass.continues) {
      best = y[j];
      winner = static_cast<int>(argmax[j]);
    } else {
      best = pass.xs[0][j];
      winner = pass.first;
      k = 1;
    }
    for (; k < pass.count; ++k)
      if (pass.xs[k][j] > best) {
        best = pass.xs[k][j];
        winner = pass.first + k;
      }
    y[j] = best;
    argmax[j] = static_cast<float>(winner);
  }
}

__global__ void eltwise_sum_backward_kernel(int64_t n, float coeff, const float* dy, float* dx) {
  DIGITS_KERNEL_LOOP(j, n) dx[j] = coeff * dy[j];
}

// dx = dy * y / x (undefined where x = 0, as on the CPU).
__global__ void eltwise_prod_backward_kernel(int64_t n, const float* x, const float* y,
                                             const float* dy, float* dx) {
  DIGITS_KERNEL_LOOP(j, n) dx[j] = dy[j] * y[j] / x[j];
}

__global__ void eltwise_max_backward_kernel(int64_t n, float index, const float* argmax,
                                            const float* dy, float* dx) {
  DIGITS_KERNEL_LOOP(j, n) dx[j] = argmax[j] == index ? dy[j] : 0.0f;
}

}  // namespace

void cuda_eltwise_forward(EltwiseOp op, int64_t n, int num_inputs, const float* const* xs,
                          const float* coeffs, float* y, float* argmax, cudaStream_t stream) {
  CUDA_REQUIRE(num_inputs >= 1, "cuda_eltwise_forward");
  CUDA_REQUIRE(op != EltwiseOp::max || argmax != nullptr, "cuda_eltwise_forward");
  CUDA_REQUIRE(
      op == EltwiseOp::sum || op == EltwiseOp::prod || op == EltwiseOp::max,
      "cuda_eltwise_forward");
  if (n <= 0) return;
  // A later pass reads y back as the running result, so y must not be one of its inputs.
  for (int k = kCudaEltwiseMaxInputsPerPass; k < num_inputs; ++k)
    CUDA_REQUIRE(xs[k] != y, "cuda_eltwise_forward");
  const int blocks = kernels::elementwise_blocks(n);
  for (int first = 0; first < num_inputs; first += kCudaEltwiseMaxInputsPerPass) {
    EltwisePass pass{};
    pass.count = std::min(kCudaEltwiseMaxInputsPerPass, num_inputs - first);
    pass.first = first;
    pass.continues = first > 0;
    for (int k = 0; k < pass.count; ++k) {
      pass.xs[k] = xs[first + k];
      pass.coeffs[k] = coeffs ? coeffs[first + k] : 1.0f;
    }
    switch (op) {
      case EltwiseOp::sum:
        eltwise_sum_kernel<<<blocks, kThreads, 0, stream>>>(n, pass, y);
        CUDA_CHECK_LAUNCH("eltwise_sum_kernel");
        break;
      case EltwiseOp::prod:
        eltwise_prod_kernel<<<blocks, kThreads, 0, stream>>>(n, pass, y);
        CUDA_CHECK_LAUNCH("eltwise_prod_kernel");
        break;
      case EltwiseOp::max:
        eltwise_max_kernel<<<blocks, kThreads, 0, stream>>>(n, pass, y, argmax);
        CUDA_CHECK_LAUNCH("eltwise_max_kernel");
        break;
    }
  }
}

void cuda_eltwise_backward(EltwiseOp op, int64_t n, int input_index, const float* x,
                           const float* y, const float* dy, float coeff, const float* argmax,
                           float* dx, cudaStream_t stream) {
  CUDA_REQUIRE(op != EltwiseOp::max || argmax != nullptr, "cuda_eltwise_backward");
  CUDA_REQUIRE(
      op == EltwiseOp::sum || op == EltwiseOp::prod || op == EltwiseOp::max,
      "cuda_eltwise_backward");
  if (n <= 0) return;
  const int blocks = kernels::elementwise_blocks(n);
  switch (op) {
    case EltwiseOp::sum:
      eltwise_sum_backward_kernel<<<blocks, kThreads, 0, stream>>>(n, coeff, dy, dx);
      CUDA_CHECK_LAUNCH("eltwise_sum_backward_kernel");
      return;
    case EltwiseOp::prod:
      eltwise_prod_backward_kernel<<<blocks, kThreads, 0, stream>>>(n, x, y, dy, dx);
      CUDA_CHECK_LAUNCH("eltwise_prod_backward_kernel");
      return;
    case EltwiseOp::max:
      eltwise_max_backward_kernel<<<blocks, kThreads, 0, stream>>>(
          n, static_cast<float>(input_index), argmax, dy, dx);
      CUDA_CHECK_LAUNCH("eltwise_max_backward_kernel");
      return;
  }
}

}  // namespace digits
