// A cuDNN 4-D float NCHW tensor descriptor that destroys itself: the ops made of one cuDNN call
// (softmax, LRN, batch norm) build theirs per call (a host-only operation of a microsecond).
#pragma once

#include <cudnn.h>

#include <climits>
#include <cstdint>

#include "core/error.h"
#include "kernels/cuda_check.h"

namespace digits {

class CudnnTensor {
 public:
  CudnnTensor(int64_t n, int64_t c, int64_t h, int64_t w, const char* op) {
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || n > INT_MAX || c > INT_MAX || h > INT_MAX ||
        w > INT_MAX || n * c * h * w > INT_MAX)
      fail_runtime("cuda backend: {}: shape [{},{},{},{}] is empty or beyond what cuDNN's 4-D "
                   "tensors take",
                   op, n, c, h, w);
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&desc_));
    const cudnnStatus_t status =
        cudnnSetTensor4dDescriptor(desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(n),
                                   static_cast<int>(c), static_cast<int>(h), static_cast<int>(w));
    if (status != CUDNN_STATUS_SUCCESS) {
      cudnnDestroyTensorDescriptor(desc_);
      CUDNN_CHECK(status);
    }
  }
  ~CudnnTensor() { cudnnDestroyTensorDescriptor(desc_); }
  CudnnTensor(const CudnnTensor&) = delete;
  CudnnTensor& operator=(const CudnnTensor&) = delete;
  operator cudnnTensorDescriptor_t() const { return desc_; }

 private:
  cudnnTensorDescriptor_t desc_ = nullptr;
};

}  // namespace digits
