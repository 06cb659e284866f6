// cuDNN descriptors that destroy themselves, one template for every kind the backend uses
// (tensor, filter, convolution, LRN). The CudaBackend makes each one once per shape or parameter
// set and keeps it (CudaBackend::tensor_descriptor, lrn_descriptor, conv_plan), so no op builds
// descriptors per call.
#pragma once

#include <cudnn.h>

#include "kernels/cuda_check.h"

namespace digits {

template <typename Handle, cudnnStatus_t (*Create)(Handle*), cudnnStatus_t (*Destroy)(Handle)>
class CudnnDescriptor {
 public:
  CudnnDescriptor() { CUDNN_CHECK(Create(&handle_)); }
  ~CudnnDescriptor() { Destroy(handle_); }  // errors ignored: a destructor must not throw
  CudnnDescriptor(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(const CudnnDescriptor&) = delete;
  operator Handle() const { return handle_; }

 private:
  Handle handle_ = nullptr;
};

using CudnnTensorDescriptor = CudnnDescriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor,
                                              cudnnDestroyTensorDescriptor>;
using CudnnFilterDescriptor = CudnnDescriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor,
                                              cudnnDestroyFilterDescriptor>;
using CudnnConvolutionDescriptor =
    CudnnDescriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                    cudnnDestroyConvolutionDescriptor>;
using CudnnLrnDescriptor = CudnnDescriptor<cudnnLRNDescriptor_t, cudnnCreateLRNDescriptor,
                                           cudnnDestroyLRNDescriptor>;

}  // namespace digits
