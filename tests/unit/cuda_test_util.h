// Helpers for the GPU tests (tests/unit/test_cuda_*.cpp), which compare CUDA results with the
// CPU backend's (the oracle) on fresh random inputs. Included only inside #ifdef
// DIGITS_HAVE_CUDA; CTest runs these files with --require-gpu (exit 77, skipped, without a GPU).
#pragma once

#ifdef DIGITS_HAVE_CUDA

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.h"

namespace digits::testing {

// `n` floats uniform in [lo, hi).
inline std::vector<float> random_floats(int64_t n, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

// A device array of T that frees itself; created zeroed or from host values.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) {
    if (n_) {
      REQUIRE(cudaMalloc(&ptr_, n_ * sizeof(T)) == cudaSuccess);
      REQUIRE(cudaMemset(ptr_, 0, n_ * sizeof(T)) == cudaSuccess);
    }
  }
  explicit DeviceArray(const std::vector<T>& values) : DeviceArray(values.size()) {
    upload(values);
  }
  ~DeviceArray() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* get() const { return ptr_; }
  size_t size() const { return n_; }
  // Replaces the contents (values.size() must equal size()).
  void upload(const std::vector<T>& values) {
    REQUIRE(values.size() == n_);
    if (n_) REQUIRE(cudaMemcpy(ptr_, values.data(), n_ * sizeof(T), cudaMemcpyHostToDevice) ==
                    cudaSuccess);
  }
  // A host copy, after all queued work (cudaMemcpy waits for the legacy default stream, and
  // blocking streams synchronize with it).
  std::vector<T> host() const {
    std::vector<T> out(n_);
    if (n_) REQUIRE(cudaMemcpy(out.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost) ==
                    cudaSuccess);
    return out;
  }

 private:
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

// Largest |gpu - cpu| over the largest |cpu| (1e-30 at least): one number per array, so a bound
// reads "relative to the array's scale"; NaN anywhere on either side (but not both) fails.
// `worst` describes the worst element for the failure message.
inline double relative_error(const std::vector<float>& gpu, const std::vector<float>& cpu,
                             std::string* worst) {
  REQUIRE(gpu.size() == cpu.size());
  double scale = 0, max_diff = 0;
  size_t at = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (std::isfinite(cpu[i])) scale = std::max(scale, std::fabs(double(cpu[i])));
    double diff = std::fabs(double(gpu[i]) - double(cpu[i]));
    if (std::isnan(gpu[i]) && std::isnan(cpu[i])) diff = 0;
    if (gpu[i] == cpu[i]) diff = 0;  // equal infinities
    if (!(diff <= max_diff)) {       // NaN counts as the worst
      max_diff = diff;
      at = i;
    }
  }
  if (worst && !cpu.empty()) {
    std::ostringstream s;
    s.precision(9);
    s << "index " << at << ": gpu " << gpu[at] << ", cpu " << cpu[at] << ", scale " << scale;
    *worst = s.str();
  }
  if (std::isnan(max_diff)) return max_diff;
  return max_diff / std::max(scale, 1e-30);
}

// CHECKs that gpu matches cpu within `bound` relative to cpu's scale (0: exactly equal).
inline void check_close(const std::string& what, const std::vector<float>& gpu,
                        const std::vector<float>& cpu, double bound) {
  std::string worst;
  const double err = relative_error(gpu, cpu, &worst);
  INFO(what << ": relative error " << err << " (bound " << bound << "), worst at " << worst);
  CHECK(err <= bound);
}

// One number: |gpu - cpu| / max(|cpu|, 1e-30) <= bound.
inline void check_close(const std::string& what, double gpu, double cpu, double bound) {
  const double err = std::fabs(gpu - cpu) / std::max(std::fabs(cpu), 1e-30);
  INFO(what << ": gpu " << gpu << ", cpu " << cpu << ", relative error " << err << " (bound "
            << bound << ")");
  CHECK(err <= bound);
}

}  // namespace digits::testing

#endif  // DIGITS_HAVE_CUDA
