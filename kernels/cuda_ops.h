// Launchers for the CudaBackend's own kernels that stand where cuDNN's semantics differ from
// the CPU reference's (pooling, activations). Same conventions as kernels/cuda_kernels.h:
// device pointers, enqueued on `stream`, launch checked, the CPU backend's `=`/`+=` rules.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "backend/backend.h"

namespace digits {

// ---- pooling (pool_cuda.cu) -------------------------------------------------------------------
// cuDNN pools with the floor output rule, has no argmax mask, and divides average windows by
// either the whole kernel or the in-input part; Caffe (our spec, backend/cpu/pool_cpu.cpp) uses
// the ceil rule and divides by the window clipped to the padded input. So: our own kernels,
// bit-identical to the CPU's (same comparisons, same order of additions).
// y (n, c, oh, ow), `=`; mask (y's shape, nullable, max only) = flat index y*w+x of each max.
void cuda_pool_forward(const PoolShape& s, const float* x, float* y, float* mask,
                       cudaStream_t stream);
// dx (n, c, h, w), `=`: gathered per input element over the windows that hold it, in output
// order, so no atomics and the CPU's sums exactly. Max pooling without mask recomputes argmaxes.
void cuda_pool_backward(const PoolShape& s, const float* x, const float* dy, const float* mask,
                        float* dx, cudaStream_t stream);

// ---- activations (activation_cuda.cu) -----------------------------------------------------------
// Elementwise, as backend/cpu/activation_cpu.cpp: backward reads y only (layers run in place and
// pass y for x), which cuDNN's ELU backward does not, and cuDNN has no leaky ReLU.
// y = f(x), `=`, y may alias x.
void cuda_activation_forward(Activation act, float alpha, int64_t n, const float* x, float* y,
                             cudaStream_t stream);
// dx = dy * f'(x) expressed through y, `=`, dx may alias dy.
void cuda_activation_backward(Activation act, float alpha, int64_t n, const float* y,
                              const float* dy, float* dx, cudaStream_t stream);

}  // namespace digits
