// Convolution through cuDNN: forward, backward data, backward filter; groups and dilation native.
//
// For each ConvShape the descriptors are made once and each direction's algorithm is chosen
// once, on first use, by cuDNN's heuristics (cudnnGet*Algorithm_v7, ranked by expected speed):
// the first one that cuDNN supports for the shape and whose workspace fits the backend's limit
// (512 MiB, or DIGITS_CONV_WORKSPACE_MB) wins. DIGITS_DETERMINISTIC=1 skips algorithms that use
// atomics (cuDNN marks them non-deterministic), so reruns are bit-identical.
// Math: strict float32 (FMA kernels only) unless DIGITS_ALLOW_TF32=1, because the CPU backend is
// the oracle and TF32 rounds inputs to 10 mantissa bits.
// Bias goes through our own kernels (add_bias/bias_backward), which sum in double as the CPU.
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/cuda_backend.h"
#include "core/error.h"
#include "kernels/cuda_check.h"

namespace digits {

struct CudaBackend::ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  // Chosen algorithm, its math type and its exact workspace, per direction (once chosen).
  bool has_fwd = false, has_bwd_data = false, has_bwd_filter = false;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  cudnnMathType_t fwd_math{}, bwd_data_math{}, bwd_filter_math{};
  size_t fwd_bytes = 0, bwd_data_bytes = 0, bwd_filter_bytes = 0;

  ~ConvPlan() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

void CudaBackend::ConvPlanDeleter::operator()(ConvPlan* plan) const { delete plan; }

namespace {

int to_int(int64_t value, const ConvShape& s, const char* what) {
  if (value < 0 || value > INT_MAX)
    fail_runtime("cuda backend: {}: {} = {} is beyond what cuDNN's 2-D API takes", s.describe(),
                 what, value);
  return static_cast<int>(value);
}

bool deterministic_only() {
  const char* value = std::getenv("DIGITS_DETERMINISTIC");
  return value && *value && std::strcmp(value, "0") != 0;
}

// The first heuristic result usable under our rules; fails naming the shape when none is.
template <typename Perf>
const Perf& pick(const std::vector<Perf>& results, int returned, size_t limit, bool strict_fp32,
                 const ConvShape& s, const char* direction) {
  const bool deterministic = deterministic_only();
  for (int i = 0; i < returned; ++i) {
    const Perf& r = results[i];
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > limit) continue;
    if (deterministic && r.determinism != CUDNN_DETERMINISTIC) continue;
    if (strict_fp32 && (r.mathType == CUDNN_TENSOR_OP_MATH ||
                        r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
      continue;
    return r;
  }
  fail_runtime("cuda backend: {} {}: cuDNN offers no algorithm within a {} MiB workspace{} "
               "(raise DIGITS_CONV_WORKSPACE_MB)",
               direction, s.describe(), limit >> 20,
               deterministic ? " that is deterministic (DIGITS_DETERMINISTIC is set)" : "");
}

// Under strict float32, every algorithm runs with FMA math whatever the heuristic reported
// (cuDNN's own advice for disabling TF32 on a descriptor).
cudnnMathType_t math_for(cudnnMathType_t reported, bool strict_fp32) {
  return strict_fp32 ? CUDNN_FMA_MATH : reported;
}

}  // namespace

CudaBackend::ConvPlan& CudaBackend::conv_plan(const ConvShape& s) {
  const auto key = std::make_tuple(s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw,
                                   s.dh, s.dw, s.groups);
  auto found = conv_plans_.find(key);
  if (found != conv_plans_.end()) return *found->second;

  DIGITS_CHECK(s.groups >= 1 && s.c % s.groups == 0 && s.k % s.groups == 0,
               "conv: {}: channels and outputs must divide by groups", s.describe());
  DIGITS_CHECK(s.out_h() >= 1 && s.out_w() >= 1, "conv: {}: kernel larger than the padded input",
               s.describe());
  std::unique_ptr<ConvPlan, ConvPlanDeleter> plan(new ConvPlan);
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->x));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->y));
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->w));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                         to_int(s.n, s, "n"), to_int(s.c, s, "c"),
                                         to_int(s.h, s, "h"), to_int(s.w, s, "w")));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(plan->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                         to_int(s.k, s, "k"), to_int(s.c / s.groups, s, "c/groups"),
                                         to_int(s.kh, s, "kh"), to_int(s.kw, s, "kw")));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      plan->conv, to_int(s.ph, s, "ph"), to_int(s.pw, s, "pw"), to_int(s.sh, s, "sh"),
      to_int(s.sw, s, "sw"), to_int(s.dh, s, "dh"), to_int(s.dw, s, "dw"),
      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(plan->conv, to_int(s.groups, s, "groups")));
  CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv,
                                          allow_tf32_ ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  int n = 0, k = 0, oh = 0, ow = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(plan->conv, plan->x, plan->w, &n, &k, &oh, &ow));
  DIGITS_CHECK(n == s.n && k == s.k && oh == s.out_h() && ow == s.out_w(),
               "conv: {}: cuDNN's output [{},{},{},{}] differs from ours [{},{},{},{}]",
               s.describe(), n, k, oh, ow, s.n, s.k, s.out_h(), s.out_w());
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, k, oh,
                                         ow));
  return *conv_plans_.emplace(key, std::move(plan)).first->second;
}

// y (n, k, oh, ow) = conv(x, w) + bias, `=`.
void CudaBackend::conv_forward(const ConvShape& s, const float* x, const float* w,
                               const float* bias, float* y) {
  ConvPlan& plan = conv_plan(s);
  const bool strict = !allow_tf32_;
  if (!plan.has_fwd) {
    int max_count = 0, returned = 0;
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn_, &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> results(static_cast<size_t>(max_count));
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(cudnn_, plan.x, plan.w, plan.conv, plan.y,
                                                       max_count, &returned, results.data()));
    const auto& r = pick(results, returned, workspace_limit_, strict, s, "conv_forward");
    plan.fwd = r.algo;
    plan.fwd_math = math_for(r.mathType, strict);
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.fwd_math));
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(cudnn_, plan.x, plan.w, plan.conv, plan.y,
                                                        plan.fwd, &plan.fwd_bytes));
    plan.has_fwd = true;
  }
  CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.fwd_math));
  void* workspace = plan.fwd_bytes ? scratch(plan.fwd_bytes, "convolution workspace") : nullptr;
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnConvolutionForward(cudnn_, &one, plan.x, x, plan.w, w, plan.conv, plan.fwd,
                                      workspace, plan.fwd_bytes, &zero, plan.y, y));
  if (bias) add_bias(s.n, s.k, s.out_h() * s.out_w(), bias, y);
}

// dx (n, c, h, w) = the transpose convolution of dy with w, `=`.
void CudaBackend::conv_backward_data(const ConvShape& s, const float* w, const float* dy,
                                     float* dx) {
  ConvPlan& plan = conv_plan(s);
  const bool strict = !allow_tf32_;
  if (!plan.has_bwd_data) {
    int max_count = 0, returned = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn_, &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> results(static_cast<size_t>(max_count));
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
        cudnn_, plan.w, plan.y, plan.conv, plan.x, max_count, &returned, results.data()));
    const auto& r = pick(results, returned, workspace_limit_, strict, s, "conv_backward_data");
    plan.bwd_data = r.algo;
    plan.bwd_data_math = math_for(r.mathType, strict);
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.bwd_data_math));
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        cudnn_, plan.w, plan.y, plan.conv, plan.x, plan.bwd_data, &plan.bwd_data_bytes));
    plan.has_bwd_data = true;
  }
  CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.bwd_data_math));
  void* workspace =
      plan.bwd_data_bytes ? scratch(plan.bwd_data_bytes, "convolution workspace") : nullptr;
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn_, &one, plan.w, w, plan.y, dy, plan.conv,
                                           plan.bwd_data, workspace, plan.bwd_data_bytes, &zero,
                                           plan.x, dx));
}

// dw (k, c/groups, kh, kw) += correlation of x with dy; dbias (k) += sum of dy (nullable).
void CudaBackend::conv_backward_filter(const ConvShape& s, const float* x, const float* dy,
                                       float* dw, float* dbias) {
  ConvPlan& plan = conv_plan(s);
  const bool strict = !allow_tf32_;
  if (!plan.has_bwd_filter) {
    int max_count = 0, returned = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnn_, &max_count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> results(static_cast<size_t>(max_count));
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        cudnn_, plan.x, plan.y, plan.conv, plan.w, max_count, &returned, results.data()));
    const auto& r = pick(results, returned, workspace_limit_, strict, s, "conv_backward_filter");
    plan.bwd_filter = r.algo;
    plan.bwd_filter_math = math_for(r.mathType, strict);
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.bwd_filter_math));
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        cudnn_, plan.x, plan.y, plan.conv, plan.w, plan.bwd_filter, &plan.bwd_filter_bytes));
    plan.has_bwd_filter = true;
  }
  CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.bwd_filter_math));
  void* workspace =
      plan.bwd_filter_bytes ? scratch(plan.bwd_filter_bytes, "convolution workspace") : nullptr;
  const float one = 1.0f;
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn_, &one, plan.x, x, plan.y, dy, plan.conv,
                                             plan.bwd_filter, workspace, plan.bwd_filter_bytes,
                                             &one, plan.w, dw));
  if (dbias) bias_backward(s.n, s.k, s.out_h() * s.out_w(), dy, dbias);
}

}  // namespace digits
