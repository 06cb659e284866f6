// Convolution through cuDNN: forward, backward data, backward filter; groups and dilation native.
//
// For each ConvShape (every field is part of the key) the descriptors are made once, and each
// direction's algorithm is chosen once, on its first use, by cuDNN's heuristics
// (cudnnGet*Algorithm_v7, ranked by expected speed): the first one that cuDNN supports for the
// shape and whose workspace fits the backend's limit (512 MiB, or DIGITS_CONV_WORKSPACE_MB) wins.
// The workspace lives in the backend's scratch, so it is bounded by that limit too.
// DIGITS_DETERMINISTIC=1 skips algorithms that use atomics (cuDNN marks them non-deterministic),
// so reruns are bit-identical.
// Math: strict float32 (FMA kernels only) unless DIGITS_ALLOW_TF32=1, because the CPU backend is
// the oracle and TF32 rounds inputs to 10 mantissa bits. The heuristics may still pick FFT or
// Winograd algorithms, whose transforms round differently from a direct sum (about 1e-5 of the
// output's scale; tests/unit/test_cuda_conv.cpp allows 5e-4).
// Bias goes through our own kernels (add_bias/bias_backward), which sum in double as the CPU.
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"

namespace digits {

namespace {

// One direction's chosen algorithm, the math type it runs with and its exact workspace.
template <typename Algo>
struct ConvChoice {
  bool chosen = false;
  Algo algo{};
  cudnnMathType_t math{};
  size_t workspace_bytes = 0;
};

}  // namespace

struct CudaBackend::ConvPlan {
  CudnnTensorDescriptor x, y;
  CudnnFilterDescriptor w;
  CudnnConvolutionDescriptor conv;
  ConvChoice<cudnnConvolutionFwdAlgo_t> forward;
  ConvChoice<cudnnConvolutionBwdDataAlgo_t> backward_data;
  ConvChoice<cudnnConvolutionBwdFilterAlgo_t> backward_filter;
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

// The cuDNN calls of each direction, so that one chooser serves all three.
struct Forward {
  using Algo = cudnnConvolutionFwdAlgo_t;
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  static constexpr const char* name = "conv_forward";
  static cudnnStatus_t max_count(cudnnHandle_t h, int* count) {
    return cudnnGetConvolutionForwardAlgorithmMaxCount(h, count);
  }
  template <typename Plan>
  static cudnnStatus_t heuristics(cudnnHandle_t h, const Plan& p, int max, int* returned,
                                  Perf* results) {
    return cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, max, returned,
                                                  results);
  }
  template <typename Plan>
  static cudnnStatus_t workspace(cudnnHandle_t h, const Plan& p, Algo algo, size_t* bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y, algo, bytes);
  }
};

struct BackwardData {
  using Algo = cudnnConvolutionBwdDataAlgo_t;
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  static constexpr const char* name = "conv_backward_data";
  static cudnnStatus_t max_count(cudnnHandle_t h, int* count) {
    return cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, count);
  }
  template <typename Plan>
  static cudnnStatus_t heuristics(cudnnHandle_t h, const Plan& p, int max, int* returned,
                                  Perf* results) {
    return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.x, max, returned,
                                                       results);
  }
  template <typename Plan>
  static cudnnStatus_t workspace(cudnnHandle_t h, const Plan& p, Algo algo, size_t* bytes) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.x, algo, bytes);
  }
};

struct BackwardFilter {
  using Algo = cudnnConvolutionBwdFilterAlgo_t;
  using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;
  static constexpr const char* name = "conv_backward_filter";
  static cudnnStatus_t max_count(cudnnHandle_t h, int* count) {
    return cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, count);
  }
  template <typename Plan>
  static cudnnStatus_t heuristics(cudnnHandle_t h, const Plan& p, int max, int* returned,
                                  Perf* results) {
    return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x, p.y, p.conv, p.w, max, returned,
                                                         results);
  }
  template <typename Plan>
  static cudnnStatus_t workspace(cudnnHandle_t h, const Plan& p, Algo algo, size_t* bytes) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x, p.y, p.conv, p.w, algo, bytes);
  }
};

// Chooses the direction's algorithm on its first use: the first heuristic result that succeeds,
// fits `limit`, is deterministic when that is asked for, and (under strict float32) is not a
// tensor-core one; it then runs with FMA math whatever the heuristic reported (cuDNN's advice
// for keeping TF32 off a descriptor). Fails naming the shape when no result qualifies. Before
// every call the plan's shared convolution descriptor gets the direction's math type.
template <typename Direction, typename Plan>
const ConvChoice<typename Direction::Algo>& choose(cudnnHandle_t handle, Plan& plan,
                                                   ConvChoice<typename Direction::Algo>& choice,
                                                   size_t limit, bool strict_fp32,
                                                   const ConvShape& s) {
  if (!choice.chosen) {
    int max_count = 0, returned = 0;
    CUDNN_CHECK(Direction::max_count(handle, &max_count));
    std::vector<typename Direction::Perf> results(static_cast<size_t>(max_count));
    CUDNN_CHECK(Direction::heuristics(handle, plan, max_count, &returned, results.data()));
    const bool deterministic = deterministic_only();
    const typename Direction::Perf* pick = nullptr;
    for (int i = 0; i < returned && !pick; ++i) {
      const auto& r = results[static_cast<size_t>(i)];
      if (r.status != CUDNN_STATUS_SUCCESS || r.memory > limit) continue;
      if (deterministic && r.determinism != CUDNN_DETERMINISTIC) continue;
      if (strict_fp32 && (r.mathType == CUDNN_TENSOR_OP_MATH ||
                          r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
        continue;
      pick = &r;
    }
    if (!pick)
      fail_runtime("cuda backend: {} {}: cuDNN offers no algorithm within a {} MiB workspace{} "
                   "(raise DIGITS_CONV_WORKSPACE_MB)",
                   Direction::name, s.describe(), limit >> 20,
                   deterministic ? " that is deterministic (DIGITS_DETERMINISTIC is set)" : "");
    choice.algo = pick->algo;
    choice.math = strict_fp32 ? CUDNN_FMA_MATH : pick->mathType;
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, choice.math));
    CUDNN_CHECK(Direction::workspace(handle, plan, choice.algo, &choice.workspace_bytes));
    choice.chosen = true;
  }
  CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, choice.math));
  return choice;
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
  // The heuristics rank what this math type allows.
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
  const auto& c = choose<Forward>(cudnn_, plan, plan.forward, workspace_limit_, !allow_tf32_, s);
  void* workspace =
      c.workspace_bytes ? scratch(c.workspace_bytes, "convolution workspace") : nullptr;
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnConvolutionForward(cudnn_, &one, plan.x, x, plan.w, w, plan.conv, c.algo,
                                      workspace, c.workspace_bytes, &zero, plan.y, y));
  if (bias) add_bias(s.n, s.k, s.out_h() * s.out_w(), bias, y);
}

// dx (n, c, h, w) = the transpose convolution of dy with w, `=`.
void CudaBackend::conv_backward_data(const ConvShape& s, const float* w, const float* dy,
                                     float* dx) {
  ConvPlan& plan = conv_plan(s);
  const auto& c =
      choose<BackwardData>(cudnn_, plan, plan.backward_data, workspace_limit_, !allow_tf32_, s);
  void* workspace =
      c.workspace_bytes ? scratch(c.workspace_bytes, "convolution workspace") : nullptr;
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn_, &one, plan.w, w, plan.y, dy, plan.conv, c.algo,
                                           workspace, c.workspace_bytes, &zero, plan.x, dx));
}

// dw (k, c/groups, kh, kw) += correlation of x with dy; dbias (k) += sum of dy (nullable).
void CudaBackend::conv_backward_filter(const ConvShape& s, const float* x, const float* dy,
                                       float* dw, float* dbias) {
  ConvPlan& plan = conv_plan(s);
  const auto& c = choose<BackwardFilter>(cudnn_, plan, plan.backward_filter, workspace_limit_,
                                         !allow_tf32_, s);
  void* workspace =
      c.workspace_bytes ? scratch(c.workspace_bytes, "convolution workspace") : nullptr;
  const float one = 1.0f;  // beta = 1: accumulate into dw
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn_, &one, plan.x, x, plan.y, dy, plan.conv,
                                             c.algo, workspace, c.workspace_bytes, &one, plan.w,
                                             dw));
  if (dbias) bias_backward(s.n, s.k, s.out_h() * s.out_w(), dy, dbias);
}

}  // namespace digits
