// The CudaBackend's cache of cuDNN descriptors for the ops made of one cuDNN call (softmax, LRN,
// batch norm): one descriptor per shape or parameter set, made on first use and kept for the life
// of the backend. A training run meets a handful of shapes (the train and validation batches,
// a short last validation batch), so the cache stays small.
#include <bit>
#include <climits>

#include "core/error.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"

namespace digits {

cudnnTensorDescriptor_t CudaBackend::tensor_descriptor(int64_t n, int64_t c, int64_t h, int64_t w,
                                                       const char* op) {
  // cuDNN's 4-D descriptors take int dimensions and (for these ops) int element counts.
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || n > INT_MAX || c > INT_MAX || h > INT_MAX ||
      w > INT_MAX || n * c * h * w > INT_MAX)
    fail_runtime("cuda backend: {}: shape [{},{},{},{}] is empty or beyond what cuDNN's 4-D "
                 "tensors take",
                 op, n, c, h, w);
  // A slot left empty by a failed set below is simply filled on the next call.
  auto& slot = tensor_descriptors_[{n, c, h, w}];
  if (slot) return *slot;
  auto descriptor = std::make_unique<CudnnTensorDescriptor>();
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(*descriptor, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                         static_cast<int>(n), static_cast<int>(c),
                                         static_cast<int>(h), static_cast<int>(w)));
  slot = std::move(descriptor);
  return *slot;
}

// cuDNN's LRN takes windows of 1..16 channels, k >= 1e-5 and beta >= 0.01: other values are an
// error naming them, never a silent fallback. Alpha is given as Caffe's: cuDNN divides it by the
// window size itself (as Caffe's own cuDNN LRN layer relies on).
cudnnLRNDescriptor_t CudaBackend::lrn_descriptor(const LrnParams& p, const char* op) {
  if (p.size < CUDNN_LRN_MIN_N || p.size > CUDNN_LRN_MAX_N || p.k < CUDNN_LRN_MIN_K ||
      p.beta < CUDNN_LRN_MIN_BETA)
    fail_runtime("cuda backend: {}: cuDNN's LRN needs local_size in [{}, {}], k >= {} and "
                 "beta >= {}; got local_size {}, k {}, beta {}",
                 op, CUDNN_LRN_MIN_N, CUDNN_LRN_MAX_N, CUDNN_LRN_MIN_K, CUDNN_LRN_MIN_BETA,
                 p.size, p.k, p.beta);
  const std::array<uint32_t, 4> key = {static_cast<uint32_t>(p.size),
                                       std::bit_cast<uint32_t>(p.alpha),
                                       std::bit_cast<uint32_t>(p.beta),
                                       std::bit_cast<uint32_t>(p.k)};
  auto& slot = lrn_descriptors_[key];
  if (slot) return *slot;
  auto descriptor = std::make_unique<CudnnLrnDescriptor>();
  CUDNN_CHECK(cudnnSetLRNDescriptor(*descriptor, static_cast<unsigned>(p.size), p.alpha, p.beta,
                                    p.k));
  slot = std::move(descriptor);
  return *slot;
}

}  // namespace digits
