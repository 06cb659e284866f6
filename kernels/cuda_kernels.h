// Launchers for digits' own CUDA kernels (kernels/*_kernels.cu): every Backend operation that is
// not a cuDNN or cuBLAS call. Plain C++, callable from .cpp files (CudaBackend).
//
// Conventions, for every launcher:
//  - Pointers are DEVICE pointers unless a comment says "host". Sizes are int64_t.
//  - Each launcher enqueues its work on `stream` and returns at once (no synchronization); it
//    owns its grid, guards the tail, and checks the launch (throws digits::Error, runtime).
//  - `=` / `+=` semantics and aliasing rules are exactly the Backend's (backend/backend.h) and
//    the CPU reference's (backend/cpu/*): the CPU backend is the spec these kernels follow.
//  - Reductions (sum_squares, softmax loss, accuracy, bias and scale gradients) use a fixed
//    order that depends only on the sizes (fixed grid, tree reductions in shared memory, no
//    float atomics), so results are identical run to run on the same GPU.
//  - Launchers that return numbers to the host instead write them to a small device struct (or
//    double); the caller copies it back (cudaMemcpyAsync + sync). They need `scratch`: a device
//    buffer of at least cuda_reduce_scratch_bytes() bytes, reusable by every reduction on the
//    same stream.
//  - n == 0 (or any zero extent) launches nothing.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "backend/backend.h"

namespace digits {

// ---- reductions' scratch ------------------------------------------------------------------
// Bytes of device scratch every reducing launcher below needs (a constant, a few tens of KB).
size_t cuda_reduce_scratch_bytes();

// ---- BLAS-like basics (math_kernels.cu) ------------------------------------------------------
void cuda_set(int64_t n, float value, float* y, cudaStream_t stream);
void cuda_copy(int64_t n, const float* x, float* y, cudaStream_t stream);  // y = x (x may == y)
void cuda_axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream);  // y += a*x
void cuda_scale(int64_t n, float alpha, float* y, cudaStream_t stream);                 // y *= a
// *result (device double) = sum of x[i]^2, accumulated in double.
void cuda_sum_squares(int64_t n, const float* x, double* result, void* scratch,
                      cudaStream_t stream);
// Copies `rows` rows of `cols` floats between strided 2-D blocks (concat, split, slicing).
void cuda_copy_2d(int64_t rows, int64_t cols, const float* src, int64_t src_stride, float* dst,
                  int64_t dst_stride, cudaStream_t stream);
// y[o, c, i] += bias[c] for y of shape (outer, channels, inner).
void cuda_add_bias(int64_t outer, int64_t channels, int64_t inner, const float* bias, float* y,
                   cudaStream_t stream);
// dbias[c] += sum over o, i of dy[o, c, i] (summed in double, then added as float).
void cuda_bias_backward(int64_t outer, int64_t channels, int64_t inner, const float* dy,
                        float* dbias, cudaStream_t stream);

// ---- Power layer (power_kernels.cu) ----------------------------------------------------------
// y = (shift + scale * x) ^ power, `=`.
void cuda_power_forward(int64_t n, float power, float scale, float shift, const float* x, float* y,
                        cudaStream_t stream);
// dx = dy * power * scale * (shift + scale * x) ^ (power - 1), `=` (y unused, as on the CPU).
void cuda_power_backward(int64_t n, float power, float scale, float shift, const float* x,
                         const float* y, const float* dy, float* dx, cudaStream_t stream);

// ---- softmax loss and accuracy (loss_kernels.cu) --------------------------------------------
// What the CPU backend checks before it computes: labels must be class indices in
// [0, channels) (or the ignore label). The kernels never read out of bounds for a bad label;
// they count it, and the caller throws (Error data) naming the first bad position.
// Both reductions fill the same result; each leaves the other's field 0.
struct CudaLabelResult {
  double loss = 0;            // loss: sum over valid positions of -log(max(prob[label], FLT_MIN))
  int64_t correct = 0;        // accuracy: positions whose label is among the top_k scores
  int64_t valid = 0;          // number of valid (non-ignored, well-formed) positions
  int64_t bad_labels = 0;     // positions whose label is not a class index (nor ignored)
  int64_t first_bad = -1;     // the smallest such position, -1 if none
  float first_bad_label = 0;  // its label value
};
// prob, x: (outer, channels, inner); label: (outer, inner) class indices as floats.
void cuda_softmax_loss_forward(int64_t outer, int64_t channels, int64_t inner, const float* prob,
                               const float* label, bool has_ignore, int ignore_label,
                               CudaLabelResult* result, void* scratch, cudaStream_t stream);
// dx = scale * (prob - onehot(label)), 0 at ignored positions (and at bad labels), `=`.
void cuda_softmax_loss_backward(int64_t outer, int64_t channels, int64_t inner,
                                const float* prob, const float* label, bool has_ignore,
                                int ignore_label, float scale, float* dx, cudaStream_t stream);
// A position is correct when fewer than top_k classes score >= the true class's score, the
// true class included (ties count against: Caffe's rule).
void cuda_accuracy(int64_t outer, int64_t channels, int64_t inner, const float* x,
                   const float* label, int top_k, bool has_ignore, int ignore_label,
                   CudaLabelResult* result, void* scratch, cudaStream_t stream);

// ---- dropout (dropout_kernels.cu) -------------------------------------------------------------
// mask[i] = counter_uniform(seed, offset + i) >= ratio ? 1/(1-ratio) : 0; y = x * mask; `=`.
// Bit-identical to the CPU backend for the same seed and offset. ratio in [0, 1). y may alias x.
void cuda_dropout_forward(int64_t n, float ratio, uint64_t seed, uint64_t offset, const float* x,
                          float* mask, float* y, cudaStream_t stream);
// dx = dy * mask, `=`. dx may alias dy.
void cuda_dropout_backward(int64_t n, const float* mask, const float* dy, float* dx,
                           cudaStream_t stream);

// ---- Eltwise (eltwise_kernels.cu) -------------------------------------------------------------
// xs and coeffs are HOST arrays of num_inputs entries (xs[k] device pointers; coeffs nullable:
// all 1). Same rules as Backend::eltwise_forward; inputs are combined in order 0..num_inputs-1
// as on the CPU. y may alias an input only when num_inputs <= kCudaEltwiseMaxInputsPerPass
// (more inputs take several passes that read y back).
constexpr int kCudaEltwiseMaxInputsPerPass = 8;
void cuda_eltwise_forward(EltwiseOp op, int64_t n, int num_inputs, const float* const* xs,
                          const float* coeffs, float* y, float* argmax, cudaStream_t stream);
void cuda_eltwise_backward(EltwiseOp op, int64_t n, int input_index, const float* x,
                           const float* y, const float* dy, float coeff, const float* argmax,
                           float* dx, cudaStream_t stream);

// ---- Scale layer (channel_scale_kernels.cu) ---------------------------------------------------
// y = x * gamma[c] + beta[c] (beta nullable), x viewed as (n, c, spatial), `=`.
void cuda_channel_scale_forward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                const float* gamma, const float* beta, float* y,
                                cudaStream_t stream);
// dx = dy * gamma[c] (`=`, dx may alias dy); dgamma[c] += sum dy * x; dbeta[c] += sum dy (both
// nullable; summed in double).
void cuda_channel_scale_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                 const float* gamma, const float* dy, float* dx, float* dgamma,
                                 float* dbeta, cudaStream_t stream);

// ---- batch norm over one value per channel (batchnorm_kernels.cu) ---------------------------
// The CUDA backend's batch norm is cuDNN's, except for n * spatial = 1, where cuDNN's running
// variance would be 0/0 (its unbiased factor m / (m - 1)) and the CPU backend uses the biased
// variance. These do the CPU's arithmetic for m = 1, bit for bit. x, y, dy, dx: (c) values.
// Same `=` rules as Backend::batchnorm_forward_train / batchnorm_backward.
void cuda_batchnorm_single_forward_train(int64_t c, float eps, float momentum, const float* x,
                                         float* y, float* running_mean, float* running_var,
                                         float* save_mean, float* save_invstd,
                                         cudaStream_t stream);
void cuda_batchnorm_single_backward(int64_t c, const float* x, const float* dy,
                                    const float* save_mean, const float* save_invstd, float* dx,
                                    cudaStream_t stream);

// ---- solver updates (solver_kernels.cu) -------------------------------------------------------
// One fused kernel per solver, Caffe's formulas exactly as backend/cpu/solver_cpu.cpp. h2 is
// needed by adadelta and adam only. g is left holding g + weight_decay * w.
void cuda_solver_update(const SolverStep& step, int64_t n, float* w, float* g, float* h1,
                        float* h2, cudaStream_t stream);

// ---- input batch preprocessing (preprocess_kernels.cu) ----------------------------------------
// data/transform.h's transform_sample for a whole batch already on the device (the kernel behind
// CudaBackend::upload_transform):
//   out[b, ch, y, x] = (pixels[b, ch, crop_y[b] + y, crop_x[b] + sx] - mean) * scale
// with sx = x, or out_width - 1 - x when mirror[b]; mean = mean_image[ch, crop_y[b] + y,
// crop_x[b] + sx] when t.mean_image is set, else mean_pixel[ch] when set, else 0.
// Here every pointer is a device pointer: pixels uint8 (batch, C, H, W), crop_y and crop_x int32
// (batch) in range (see InputBatchTransform), mirror uint8 (batch), 0 or 1; t's means too.
// out: (batch, C, out_height, out_width), `=`.
void cuda_transform_batch(const InputBatchTransform& t, const uint8_t* pixels,
                          const int32_t* crop_y, const int32_t* crop_x, const uint8_t* mirror,
                          float* out, cudaStream_t stream);

}  // namespace digits
