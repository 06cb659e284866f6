#include "core/tensor.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"

#ifdef DIGITS_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace digits {

const char* device_name(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  s += ']';
  return s;
}

int64_t shape_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) fail_runtime("negative dimension in shape {}", shape_string(shape));
    if (__builtin_mul_overflow(n, d, &n))
      fail_runtime("shape {} has more elements than an int64 counts", shape_string(shape));
  }
  return n;
}

#ifdef DIGITS_HAVE_CUDA
static void cuda_check(cudaError_t status, const char* what, size_t bytes) {
  if (status == cudaSuccess) return;
  // Take the error off the runtime's "last error", or the next kernel launch check would report
  // this failed allocation as its own failure.
  cudaGetLastError();
  if (status == cudaErrorMemoryAllocation)
    fail_runtime("out of GPU memory: {} of {} bytes failed", what, bytes);
  fail_runtime("CUDA error in {} ({} bytes): {}", what, bytes, cudaGetErrorString(status));
}
#endif

Buffer::Buffer(Device device, size_t bytes) : bytes_(bytes), device_(device) {
  if (bytes == 0) return;
  if (device == Device::cpu) {
    size_t rounded = (bytes + 63) / 64 * 64;
    ptr_ = std::aligned_alloc(64, rounded);
    if (!ptr_) fail_runtime("out of host memory allocating {} bytes", bytes);
    return;
  }
#ifdef DIGITS_HAVE_CUDA
  cuda_check(cudaMalloc(&ptr_, bytes), "cudaMalloc", bytes);
#else
  fail(ExitCode::missing, "this build of digits has no CUDA backend");
#endif
}

Buffer::~Buffer() { release(); }

void Buffer::release() {
  if (!ptr_) return;
  if (device_ == Device::cpu) {
    std::free(ptr_);
  } else {
#ifdef DIGITS_HAVE_CUDA
    cudaFree(ptr_);
#endif
  }
  ptr_ = nullptr;
  bytes_ = 0;
}

Buffer::Buffer(Buffer&& other) noexcept
    : ptr_(other.ptr_), bytes_(other.bytes_), device_(other.device_) {
  other.ptr_ = nullptr;
  other.bytes_ = 0;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    ptr_ = other.ptr_;
    bytes_ = other.bytes_;
    device_ = other.device_;
    other.ptr_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device == Device::cpu && src_device == Device::cpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef DIGITS_HAVE_CUDA
  cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "cudaMemcpy", bytes);
#else
  fail(ExitCode::missing, "this build of digits has no CUDA backend");
#endif
}

void zero_bytes(void* dst, Device device, size_t bytes) {
  if (bytes == 0) return;
  if (device == Device::cpu) {
    std::memset(dst, 0, bytes);
    return;
  }
#ifdef DIGITS_HAVE_CUDA
  cuda_check(cudaMemset(dst, 0, bytes), "cudaMemset", bytes);
#endif
}

Tensor::Tensor(Shape shape, Device device) : device_(device) { reshape(shape); }

void Tensor::reshape(const Shape& shape) {
  int64_t n = shape_count(shape);
  shape_ = shape;
  count_ = n;
  if (n > capacity_) {
    data_ = Buffer(device_, static_cast<size_t>(n) * sizeof(float));
    bool had_grad = grad_.get() != nullptr;
    grad_ = Buffer();
    capacity_ = n;
    if (had_grad) grad();
  }
}

void Tensor::to(Device device) {
  if (device == device_) return;
  Buffer data(device, static_cast<size_t>(capacity_) * sizeof(float));
  copy_bytes(data.get(), device, data_.get(), device_, data_.bytes());
  Buffer grad;
  if (grad_.get()) {
    grad = Buffer(device, static_cast<size_t>(capacity_) * sizeof(float));
    copy_bytes(grad.get(), device, grad_.get(), device_, grad_.bytes());
  }
  data_ = std::move(data);
  grad_ = std::move(grad);
  device_ = device;
}

int64_t Tensor::dim(int i) const {
  int axis = i < 0 ? i + num_axes() : i;
  DIGITS_CHECK(axis >= 0 && axis < num_axes(), "axis {} out of range for shape {}", i,
               shape_string());
  return shape_[axis];
}

int64_t Tensor::count(int begin, int end) const {
  DIGITS_CHECK(begin >= 0 && begin <= end && end <= num_axes(), "bad axis range [{}, {}) for {}",
               begin, end, shape_string());
  int64_t n = 1;
  for (int i = begin; i < end; ++i) n *= shape_[i];
  return n;
}

float* Tensor::grad() {
  if (!grad_.get() && capacity_ > 0) {
    grad_ = Buffer(device_, static_cast<size_t>(capacity_) * sizeof(float));
    zero_bytes(grad_.get(), device_, grad_.bytes());
  }
  return static_cast<float*>(grad_.get());
}

const float* Tensor::grad() const { return const_cast<Tensor*>(this)->grad(); }

void Tensor::zero_data() { zero_bytes(data_.get(), device_, count_ * sizeof(float)); }
void Tensor::zero_grad() { zero_bytes(grad(), device_, count_ * sizeof(float)); }

std::vector<float> Tensor::host_data() const {
  std::vector<float> out(count_);
  copy_bytes(out.data(), Device::cpu, data_.get(), device_, count_ * sizeof(float));
  return out;
}

std::vector<float> Tensor::host_grad() const {
  std::vector<float> out(count_);
  copy_bytes(out.data(), Device::cpu, grad(), device_, count_ * sizeof(float));
  return out;
}

void Tensor::set_data(const std::vector<float>& values) {
  DIGITS_CHECK(static_cast<int64_t>(values.size()) == count_, "set_data: {} values for shape {}",
               values.size(), shape_string());
  copy_bytes(data_.get(), device_, values.data(), Device::cpu, count_ * sizeof(float));
}

void Tensor::set_grad(const std::vector<float>& values) {
  DIGITS_CHECK(static_cast<int64_t>(values.size()) == count_, "set_grad: {} values for shape {}",
               values.size(), shape_string());
  copy_bytes(grad(), device_, values.data(), Device::cpu, count_ * sizeof(float));
}

void Tensor::copy_data_from(const Tensor& other) {
  DIGITS_CHECK(other.count_ == count_, "copy_data_from: {} into {}", other.shape_string(),
               shape_string());
  copy_bytes(data_.get(), device_, other.data_.get(), other.device_, count_ * sizeof(float));
}

}  // namespace digits
