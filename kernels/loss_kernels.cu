// Softmax cross-entropy loss and top-k accuracy on the GPU; the CPU twins are in
// backend/cpu/softmax_cpu.cpp. x and prob are viewed as (outer, channels, inner); element
// (o, c, i) lives at (o * channels + c) * inner + i; label has one entry per position
// p = o * inner + i.
//
// The CPU checks every label before it computes and throws on a bad one. Here a bad label is
// counted (with the first bad position) and never used as an index, and the caller throws.
// The sums use the two-pass reduction of kernel_util.cuh: fixed order, identical run to run.
#include <cfloat>
#include <climits>

#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

// Per-block partial results. Trivial types only: they live in __shared__ memory.
struct LossPartial {
  double loss;
  long long valid, bad, first_bad;  // first_bad: LLONG_MAX when none
  float first_bad_label;
};

struct AccuracyPartial {
  long long correct, valid, bad, first_bad;
  float first_bad_label;
};

// The two partial types combine the same way: counts add, the smaller bad position wins.
template <typename Partial>
__device__ void merge_first_bad(Partial& out, const Partial& a, const Partial& b) {
  const bool take_a = a.first_bad <= b.first_bad;
  out.first_bad = take_a ? a.first_bad : b.first_bad;
  out.first_bad_label = take_a ? a.first_bad_label : b.first_bad_label;
}

struct CombineLoss {
  __device__ LossPartial operator()(const LossPartial& a, const LossPartial& b) const {
    LossPartial out;
    out.loss = a.loss + b.loss;
    out.valid = a.valid + b.valid;
    out.bad = a.bad + b.bad;
    merge_first_bad(out, a, b);
    return out;
  }
};

struct CombineAccuracy {
  __device__ AccuracyPartial operator()(const AccuracyPartial& a, const AccuracyPartial& b) const {
    AccuracyPartial out;
    out.correct = a.correct + b.correct;
    out.valid = a.valid + b.valid;
    out.bad = a.bad + b.bad;
    merge_first_bad(out, a, b);
    return out;
  }
};

__host__ __device__ LossPartial loss_identity() { return LossPartial{0.0, 0, 0, LLONG_MAX, 0.0f}; }
__host__ __device__ AccuracyPartial accuracy_identity() {
  return AccuracyPartial{0, 0, 0, LLONG_MAX, 0.0f};
}

// How a position's label is to be treated.
enum class LabelKind { ignored, bad, valid };

__device__ LabelKind classify_label(float value, int64_t channels, bool has_ignore,
                                    int ignore_label) {
  if (has_ignore && value == static_cast<float>(ignore_label)) return LabelKind::ignored;
  // Range first: converting an out-of-range float to int is undefined. NaN fails here too.
  if (!(value >= 0.0f && value < static_cast<float>(channels)) || value != floorf(value))
    return LabelKind::bad;
  return LabelKind::valid;
}

template <typename Partial>
__device__ void note_bad(Partial& partial, int64_t p, float value) {
  ++partial.bad;
  if (p < partial.first_bad) {  // each thread visits positions in increasing order
    partial.first_bad = p;
    partial.first_bad_label = value;
  }
}

__global__ void softmax_loss_forward_kernel(int64_t outer, int64_t channels, int64_t inner,
                                            const float* prob, const float* label,
                                            bool has_ignore, int ignore_label,
                                            LossPartial* partials) {
  __shared__ LossPartial shared[kThreads];
  LossPartial partial = loss_identity();
  DIGITS_KERNEL_LOOP(p, outer * inner) {
    const float value = label[p];
    const LabelKind kind = classify_label(value, channels, has_ignore, ignore_label);
    if (kind == LabelKind::ignored) continue;
    if (kind == LabelKind::bad) {
      note_bad(partial, p, value);
      continue;
    }
    const int64_t o = p / inner, i = p % inner, c = static_cast<int64_t>(value);
    const float q = prob[(o * channels + c) * inner + i];
    partial.loss -= log(static_cast<double>(fmaxf(q, FLT_MIN)));
    ++partial.valid;
  }
  partial = kernels::block_reduce(partial, shared, CombineLoss{});
  if (threadIdx.x == 0) partials[blockIdx.x] = partial;
}

struct StoreLoss {
  CudaLossResult* result;
  __device__ void operator()(const LossPartial& total) const {
    result->loss = total.loss;
    result->valid = total.valid;
    result->bad_labels = total.bad;
    result->first_bad = total.first_bad == LLONG_MAX ? -1 : total.first_bad;
    result->first_bad_label = total.first_bad_label;
  }
};

// One thread per element: dx = scale * (prob - onehot(label)), 0 where ignored or bad.
__global__ void softmax_loss_backward_kernel(int64_t outer, int64_t channels, int64_t inner,
                                             const float* prob, const float* label,
                                             bool has_ignore, int ignore_label, float scale,
                                             float* dx) {
  DIGITS_KERNEL_LOOP(e, outer * channels * inner) {
    const int64_t i = e % inner, c = (e / inner) % channels, o = e / (channels * inner);
    const float value = label[o * inner + i];
    if (classify_label(value, channels, has_ignore, ignore_label) != LabelKind::valid) {
      dx[e] = 0.0f;
      continue;
    }
    const float target = c == static_cast<int64_t>(value) ? 1.0f : 0.0f;
    dx[e] = scale * (prob[e] - target);
  }
}

// A position is correct when fewer than top_k classes score >= the true class's score, the true
// class included: ties count against (Caffe's rule).
__global__ void accuracy_kernel(int64_t outer, int64_t channels, int64_t inner, const float* x,
                                const float* label, int top_k, bool has_ignore, int ignore_label,
                                AccuracyPartial* partials) {
  __shared__ AccuracyPartial shared[kThreads];
  AccuracyPartial partial = accuracy_identity();
  DIGITS_KERNEL_LOOP(p, outer * inner) {
    const float value = label[p];
    const LabelKind kind = classify_label(value, channels, has_ignore, ignore_label);
    if (kind == LabelKind::ignored) continue;
    if (kind == LabelKind::bad) {
      note_bad(partial, p, value);
      continue;
    }
    const int64_t base = (p / inner) * channels * inner + p % inner;
    const float true_score = x[base + static_cast<int64_t>(value) * inner];
    int64_t at_least_as_good = 0;  // includes the true class itself
    for (int64_t c = 0; c < channels; ++c) at_least_as_good += x[base + c * inner] >= true_score;
    if (at_least_as_good - 1 < top_k) ++partial.correct;
    ++partial.valid;
  }
  partial = kernels::block_reduce(partial, shared, CombineAccuracy{});
  if (threadIdx.x == 0) partials[blockIdx.x] = partial;
}

struct StoreAccuracy {
  CudaAccuracyResult* result;
  __device__ void operator()(const AccuracyPartial& total) const {
    result->correct = total.correct;
    result->valid = total.valid;
    result->bad_labels = total.bad;
    result->first_bad = total.first_bad == LLONG_MAX ? -1 : total.first_bad;
    result->first_bad_label = total.first_bad_label;
  }
};

}  // namespace

void cuda_softmax_loss_forward(int64_t outer, int64_t channels, int64_t inner, const float* prob,
                               const float* label, bool has_ignore, int ignore_label,
                               CudaLossResult* result, void* scratch, cudaStream_t stream) {
  static_assert(sizeof(LossPartial) * kernels::kReduceBlocks <= 64 * 1024,
                "cuda_reduce_scratch_bytes() too small for the loss partials");
  auto* partials = static_cast<LossPartial*>(scratch);
  const int64_t positions = outer * inner;
  const int blocks = kernels::reduce_blocks(positions);
  if (positions > 0) {
    softmax_loss_forward_kernel<<<blocks, kThreads, 0, stream>>>(
        outer, channels, inner, prob, label, has_ignore, ignore_label, partials);
    CUDA_CHECK_LAUNCH("softmax_loss_forward_kernel");
  }
  kernels::combine_partials_kernel<<<1, kThreads, 0, stream>>>(
      static_cast<const LossPartial*>(partials), positions > 0 ? blocks : 0, loss_identity(),
      CombineLoss{}, StoreLoss{result});
  CUDA_CHECK_LAUNCH("combine_partials_kernel(softmax_loss)");
}

void cuda_softmax_loss_backward(int64_t outer, int64_t channels, int64_t inner,
                                const float* prob, const float* label, bool has_ignore,
                                int ignore_label, float scale, float* dx, cudaStream_t stream) {
  const int64_t total = outer * channels * inner;
  if (total <= 0) return;
  softmax_loss_backward_kernel<<<kernels::elementwise_blocks(total), kThreads, 0, stream>>>(
      outer, channels, inner, prob, label, has_ignore, ignore_label, scale, dx);
  CUDA_CHECK_LAUNCH("softmax_loss_backward_kernel");
}

void cuda_accuracy(int64_t outer, int64_t channels, int64_t inner, const float* x,
                   const float* label, int top_k, bool has_ignore, int ignore_label,
                   CudaAccuracyResult* result, void* scratch, cudaStream_t stream) {
  static_assert(sizeof(AccuracyPartial) * kernels::kReduceBlocks <= 64 * 1024,
                "cuda_reduce_scratch_bytes() too small for the accuracy partials");
  auto* partials = static_cast<AccuracyPartial*>(scratch);
  const int64_t positions = outer * inner;
  const int blocks = kernels::reduce_blocks(positions);
  if (positions > 0) {
    accuracy_kernel<<<blocks, kThreads, 0, stream>>>(outer, channels, inner, x, label, top_k,
                                                     has_ignore, ignore_label, partials);
    CUDA_CHECK_LAUNCH("accuracy_kernel");
  }
  kernels::combine_partials_kernel<<<1, kThreads, 0, stream>>>(
      static_cast<const AccuracyPartial*>(partials), positions > 0 ? blocks : 0,
      accuracy_identity(), CombineAccuracy{}, StoreAccuracy{result});
  CUDA_CHECK_LAUNCH("combine_partials_kernel(accuracy)");
}

}  // namespace digits
