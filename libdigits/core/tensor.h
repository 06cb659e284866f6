// Tensor: an N-dimensional float32 array (NCHW for images) with a data buffer and a gradient
// buffer, on the host or on a CUDA device. Caffe calls this a Blob; "grad" is Caffe's "diff".
//
// Memory is allocated once and reused: reshape() only reallocates when the element count grows
// beyond the capacity, because touching fresh pages is expensive on these machines (DESIGN.md 7).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace digits {

enum class Device { cpu, cuda };

const char* device_name(Device device);

using Shape = std::vector<int64_t>;

std::string shape_string(const Shape& shape);  // "[64,1,28,28]"
int64_t shape_count(const Shape& shape);       // product of dims; 1 for a scalar shape []

// Raw memory on a device, freed on destruction. Host memory is 64-byte aligned.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Device device, size_t bytes);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void release();
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  Device device_ = Device::cpu;
};

// Copies between any two devices (host<->device, device<->device, host<->host).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
// Sets bytes to zero on any device.
void zero_bytes(void* dst, Device device, size_t bytes);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, Device device = Device::cpu);

  // Changes the shape; keeps the allocation when it is large enough. Contents are unspecified
  // after a reshape that grows the tensor.
  void reshape(const Shape& shape);
  // Moves the storage to another device, keeping contents (data and grad).
  void to(Device device);

  const Shape& shape() const { return shape_; }
  int num_axes() const { return static_cast<int>(shape_.size()); }
  // Dimension i; negative i counts from the end like Python.
  int64_t dim(int i) const;
  int64_t count() const { return count_; }
  // Product of dims [begin, end).
  int64_t count(int begin, int end) const;
  int64_t count(int begin) const { return count(begin, num_axes()); }
  Device device() const { return device_; }
  std::string shape_string() const { return digits::shape_string(shape_); }

  // Pointers on the tensor's device. grad is allocated (zeroed) on first use.
  float* data() { return static_cast<float*>(data_.get()); }
  const float* data() const { return static_cast<const float*>(data_.get()); }
  float* grad();
  const float* grad() const;
  bool has_grad() const { return grad_.get() != nullptr; }

  void zero_data();
  void zero_grad();

  // Host copies, whatever the device (used by tests, logging and serialization).
  std::vector<float> host_data() const;
  std::vector<float> host_grad() const;
  void set_data(const std::vector<float>& values);  // values.size() must equal count()
  void set_grad(const std::vector<float>& values);
  void copy_data_from(const Tensor& other);  // same count; any devices

 private:
  Shape shape_;
  int64_t count_ = 0;
  int64_t capacity_ = 0;
  Device device_ = Device::cpu;
  Buffer data_;
  mutable Buffer grad_;
};

}  // namespace digits
