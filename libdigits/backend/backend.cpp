#include "backend/backend.h"

#include <cstdio>
#include <cstdlib>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "data/transform.h"

#ifdef DIGITS_HAVE_CUDA
#include "kernels/cuda_backend.h"
#endif

namespace digits {

std::string ConvShape::describe() const {
  return fmt::format("Conv(in=[{},{},{},{}],k={},kernel={}x{},s={}x{},p={}x{},d={}x{},g={})", n, c,
                     h, w, k, kh, kw, sh, sw, ph, pw, dh, dw, groups);
}

// Caffe's pooling output size: ceil rule, then drop a last window that would start in the
// padding only.
static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p) {
  int64_t out = (in + 2 * p - k + s - 1) / s + 1;
  if (p > 0 && (out - 1) * s >= in + p) --out;
  return out;
}

int64_t PoolShape::out_h() const { return pool_out(h, kh, sh, ph); }
int64_t PoolShape::out_w() const { return pool_out(w, kw, sw, pw); }

std::string PoolShape::describe() const {
  return fmt::format("Pool({},in=[{},{},{},{}],kernel={}x{},s={}x{},p={}x{})",
                     method == PoolMethod::max ? "max" : "ave", n, c, h, w, kh, kw, sh, sw, ph,
                     pw);
}

InputBatchTransform input_batch_transform(const SampleTransform& sample, int64_t batch) {
  InputBatchTransform t;
  static_cast<TransformGeometry&>(t) = sample;
  t.batch = batch;
  return t;
}

// transform_sample per record, straight into dst: valid where the backend's memory is the
// host's (the CPU backend); the CUDA backend overrides it.
void Backend::upload_transform(const InputBatchTransform& t, const uint8_t* pixels,
                               const int32_t* crop_y, const int32_t* crop_x,
                               const uint8_t* mirror, float* dst) {
  DIGITS_CHECK(device() == Device::cpu, "{}: upload_transform needs the backend's own version",
               name());
  SampleTransform sample;
  static_cast<TransformGeometry&>(sample) = t;
  sample.mean_image = t.mean_image;
  sample.mean_pixel.assign(static_cast<size_t>(t.channels), 0.0f);
  if (t.mean_pixel) sample.mean_pixel.assign(t.mean_pixel, t.mean_pixel + t.channels);
  const int64_t in_record = t.channels * t.height * t.width;
  const int64_t out_record = t.channels * t.out_height * t.out_width;
  for (int64_t b = 0; b < t.batch; ++b) {
    DIGITS_CHECK(crop_y[b] >= 0 && crop_y[b] + t.out_height <= t.height && crop_x[b] >= 0 &&
                     crop_x[b] + t.out_width <= t.width,
                 "upload_transform: crop corner ({}, {}) of record {} outside the record", crop_y[b],
                 crop_x[b], b);
    transform_sample(sample, pixels + b * in_record, crop_y[b], crop_x[b], mirror[b] != 0,
                     dst + b * out_record);
  }
}

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

bool cuda_available(std::string* why) {
#ifdef DIGITS_HAVE_CUDA
  return cuda_probe(why);
#else
  if (why) *why = "this build of digits has no CUDA backend (built with DIGITS_CUDA=OFF or no nvcc)";
  return false;
#endif
}

DeviceChoice parse_device(const std::string& device_spec) {
  DeviceChoice choice;
  if (device_spec == "cpu") return choice;
  if (device_spec == "auto") {
    choice.kind = DeviceChoice::Kind::auto_select;
    return choice;
  }
  choice.kind = DeviceChoice::Kind::gpu;
  if (device_spec == "gpu") return choice;
  if (device_spec.rfind("gpu:", 0) != 0)
    fail_usage("device: expected cpu, gpu, gpu:N or auto, got \"{}\"", device_spec);
  char* end = nullptr;
  long parsed = std::strtol(device_spec.c_str() + 4, &end, 10);
  if (end == device_spec.c_str() + 4 || *end != '\0' || parsed < 0 || parsed > 1 << 20)
    fail_usage("device: expected gpu:N with N a GPU index, got \"{}\"", device_spec);
  choice.gpu_index = static_cast<int>(parsed);
  return choice;
}

Backend& backend_for(const std::string& device_spec) {
  const DeviceChoice choice = parse_device(device_spec);
  if (choice.kind == DeviceChoice::Kind::cpu) return cpu_backend();
  std::string why;
  if (choice.kind == DeviceChoice::Kind::auto_select) {
    if (cuda_available(&why)) return backend_for("gpu:0");
    std::fprintf(stderr, "digits: device auto: using the CPU (%s)\n", why.c_str());
    return cpu_backend();
  }
  if (!cuda_available(&why)) fail(ExitCode::missing, "device {}: no usable GPU: {}", device_spec, why);
#ifdef DIGITS_HAVE_CUDA
  return cuda_backend(choice.gpu_index);
#else
  fail(ExitCode::missing, "device {}: {}", device_spec, why);
#endif
}

}  // namespace digits
