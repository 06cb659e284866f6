// Softmax cross-entropy loss and top-k accuracy on the GPU; the CPU twins are in
// backend/cpu/softmax_cpu.cpp. x and prob are viewed as (outer, channels, inner); element
// (o, c, i) lives at (o * channels + c) * inner + i; label has one entry per position
// p = o * inner + i.
//
// The CPU checks every label before it computes and throws on a bad one. Here a bad label is
// counted (with the first bad position) and never used as an index, and the caller throws.
// Loss and accuracy are one reduction over the labelled positions (label_reduction below) that
// differs only in what a valid position adds; it uses the two-pass scheme of kernel_util.cuh:
// fixed order, identical run to run.
#include <cfloat>
#include <climits>

#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

// Per-block partial results of either reduction. A trivial type: it lives in __shared__ memory.
struct LabelPartial {
  double loss;
  long long correct, valid, bad, first_bad;  // first_bad: LLONG_MAX when none
  float first_bad_label;
};

__host__ __device__ LabelPartial label_identity() {
  return LabelPartial{0.0, 0, 0, 0, LLONG_MAX, 0.0f};
}

// Sums add; the smaller bad position wins.
struct CombineLabels {
  __device__ LabelPartial operator()(const LabelPartial& a, const LabelPartial& b) const {
    const bool take_a = a.first_bad <= b.first_bad;
    return LabelPartial{a.loss + b.loss,
                        a.correct + b.correct,
                        a.valid + b.valid,
                        a.bad + b.bad,
                        take_a ? a.first_bad : b.first_bad,
                        take_a ? a.first_bad_label : b.first_bad_label};
  }
};

struct StoreLabels {
  CudaLabelResult* result;
  __device__ void operator()(const LabelPartial& total) const {
    result->loss = total.loss;
    result->correct = total.correct;
    result->valid = total.valid;
    result->bad_labels = total.bad;
    result->first_bad = total.first_bad == LLONG_MAX ? -1 : total.first_bad;
    result->first_bad_label = total.first_bad_label;
  }
};

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

// What a valid position adds to the loss: -log(max(prob[label], FLT_MIN)), in double.
struct AddLoss {
  const float* prob;
  int64_t channels, inner;
  __device__ void operator()(LabelPartial& partial, int64_t p, int64_t label) const {
    const int64_t o = p / inner, i = p % inner;
    partial.loss -= log(static_cast<double>(fmaxf(prob[(o * channels + label) * inner + i],
                                                  FLT_MIN)));
  }
};

// What a valid position adds to the accuracy: correct when fewer than top_k classes score >=
// the true class's score, the true class included (ties count against: Caffe's rule).
struct AddHit {
  const float* x;
  int64_t channels, inner;
  int top_k;
  __device__ void operator()(LabelPartial& partial, int64_t p, int64_t label) const {
    const int64_t base = (p / inner) * channels * inner + p % inner;
    const float true_score = x[base + label * inner];
    int64_t at_least_as_good = 0;  // includes the true class itself
    for (int64_t c = 0; c < channels; ++c) at_least_as_good += x[base + c * inner] >= true_score;
    if (at_least_as_good - 1 < top_k) ++partial.correct;
  }
};

// First pass: each block's partial over its grid-stride share of the positions. Ignored
// positions add nothing, bad ones are counted, valid ones are counted and handed to `add`.
template <typename Add>
__global__ void label_partials_kernel(int64_t positions, int64_t channels, const float* label,
                                      bool has_ignore, int ignore_label, Add add,
                                      LabelPartial* partials) {
  __shared__ LabelPartial shared[kThreads];
  LabelPartial partial = label_identity();
  DIGITS_KERNEL_LOOP(p, positions) {
    const float value = label[p];
    const LabelKind kind = classify_label(value, channels, has_ignore, ignore_label);
    if (kind == LabelKind::ignored) continue;
    if (kind == LabelKind::bad) {
      ++partial.bad;
      if (p < partial.first_bad) {  // each thread visits positions in increasing order
        partial.first_bad = p;
        partial.first_bad_label = value;
      }
      continue;
    }
    add(partial, p, static_cast<int64_t>(value));
    ++partial.valid;
  }
  partial = kernels::block_reduce(partial, shared, CombineLabels{});
  if (threadIdx.x == 0) partials[blockIdx.x] = partial;
}

// Both passes: *result = the reduction over all positions (zero positions give the identity).
template <typename Add>
void label_reduction(int64_t outer, int64_t channels, int64_t inner, const float* label,
                     bool has_ignore, int ignore_label, Add add, CudaLabelResult* result,
                     void* scratch, cudaStream_t stream, const char* what) {
  static_assert(sizeof(LabelPartial) * kernels::kReduceBlocks <= 64 * 1024,
                "cuda_reduce_scratch_bytes() too small for the label partials");
  auto* partials = static_cast<LabelPartial*>(scratch);
  const int64_t positions = outer * inner;
  const int blocks = kernels::reduce_blocks(positions);
  if (positions > 0) {
    label_partials_kernel<<<blocks, kThreads, 0, stream>>>(positions, channels, label, has_ignore,
                                                           ignore_label, add, partials);
    CUDA_CHECK_LAUNCH(what);
  }
  kernels::combine_partials_kernel<<<1, kThreads, 0, stream>>>(
      static_cast<const LabelPartial*>(partials), positions > 0 ? blocks : 0, label_identity(),
      CombineLabels{}, StoreLabels{result});
  CUDA_CHECK_LAUNCH("combine_partials_kernel(labels)");
}

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

}  // namespace

void cuda_softmax_loss_forward(int64_t outer, int64_t channels, int64_t inner, const float* prob,
                               const float* label, bool has_ignore, int ignore_label,
                               CudaLabelResult* result, void* scratch, cudaStream_t stream) {
  label_reduction(outer, channels, inner, label, has_ignore, ignore_label,
                  AddLoss{prob, channels, inner}, result, scratch, stream,
                  "label_partials_kernel(softmax_loss)");
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
                   CudaLabelResult* result, void* scratch, cudaStream_t stream) {
  label_reduction(outer, channels, inner, label, has_ignore, ignore_label,
                  AddHit{x, channels, inner, top_k}, result, scratch, stream,
                  "label_partials_kernel(accuracy)");
}

}  // namespace digits
