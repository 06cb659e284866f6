// CudaBackend: handles, the stream, scratch memory, uploads, and the ops that are our own
// kernels (declared in kernels/cuda_kernels.h), forwarded with the backend's stream and scratch.
// cuDNN and cuBLAS ops live in their own files (see cuda_backend.h).
#include "kernels/cuda_backend.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_kernels.h"
#include "kernels/cuda_ops.h"

namespace digits {

namespace {

// Workspace a convolution algorithm may use, unless DIGITS_CONV_WORKSPACE_MB says otherwise.
// cuDNN's fastest algorithms for AlexNet-sized layers want tens to a few hundred MiB.
constexpr size_t kDefaultConvWorkspaceMiB = 512;

bool env_flag(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::strcmp(value, "0") != 0;
}

}  // namespace

CudaBackend::CudaBackend(int device_index) : device_index_(device_index) {
  CUDA_CHECK(cudaSetDevice(device_index));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device_index));
  allow_tf32_ = env_flag("DIGITS_ALLOW_TF32");
  workspace_limit_ = kDefaultConvWorkspaceMiB << 20;
  if (const char* mb = std::getenv("DIGITS_CONV_WORKSPACE_MB")) {
    char* end = nullptr;
    const long long parsed = std::strtoll(mb, &end, 10);
    if (end == mb || *end != '\0' || parsed < 0)
      fail_usage("DIGITS_CONV_WORKSPACE_MB: expected a number of MiB >= 0, got \"{}\"", mb);
    workspace_limit_ = static_cast<size_t>(parsed) << 20;
  }
  name_ = fmt::format("cuda:{} ({}, {:.0f} GiB, sm_{}{}, cuDNN {}{})", device_index, prop.name,
                      prop.totalGlobalMem / 1073741824.0, prop.major, prop.minor,
                      cudnnGetVersion(), allow_tf32_ ? ", TF32" : "");

  // A blocking stream (not cudaStreamNonBlocking): Tensor's cudaMemcpy/cudaMemset on the legacy
  // default stream then wait for our work and ours for theirs, so mixing them stays correct.
  CUDA_CHECK(cudaStreamCreate(&stream_));
  CUBLAS_CHECK(cublasCreate(&cublas_));
  CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  // Float32 precision unless TF32 is asked for: the CPU backend is the oracle in tests. The
  // default mode already keeps at least float32's precision and range (cublas_api.h: "default
  // types ... guarantee internal storage precision with at least the same precision"); the
  // pedantic one only forbids the fastest kernels.
  CUBLAS_CHECK(cublasSetMathMode(cublas_, allow_tf32_ ? CUBLAS_TF32_TENSOR_OP_MATH
                                                      : CUBLAS_DEFAULT_MATH));
  CUDNN_CHECK(cudnnCreate(&cudnn_));
  CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  for (Staging& slot : staging_)
    CUDA_CHECK(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming));
  static_assert(sizeof(CudaLabelResult) <= kResultBytes && sizeof(double) <= kResultBytes);
  CUDA_CHECK(cudaMallocHost(&result_, kResultBytes));
}

// Destroys what the constructor made. Errors are ignored here: a destructor must not throw, and
// at process exit the driver may already be shutting down.
CudaBackend::~CudaBackend() {
  conv_plans_.clear();
  tensor_descriptors_.clear();
  lrn_descriptors_.clear();
  if (scratch_) cudaFree(scratch_);
  for (Staging& slot : staging_) {
    if (slot.host) cudaFreeHost(slot.host);
    if (slot.done) cudaEventDestroy(slot.done);
  }
  if (result_) cudaFreeHost(result_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaBackend::synchronize() { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

CudaBackend::Staging& CudaBackend::staging(size_t bytes) {
  Staging& slot = staging_[next_staging_];
  next_staging_ = (next_staging_ + 1) % kStagingSlots;
  CUDA_CHECK(cudaEventSynchronize(slot.done));  // an event never recorded is complete
  if (bytes > slot.bytes) {
    if (slot.host) CUDA_CHECK(cudaFreeHost(slot.host));
    slot.host = nullptr;
    slot.bytes = 0;
    cuda_check_alloc(cudaMallocHost(&slot.host, bytes), "pinned staging for the input batch",
                     bytes, __FILE__, __LINE__);
    slot.bytes = bytes;
  }
  return slot;
}

// Host -> pinned staging (a host memcpy), then an asynchronous copy on the stream: the caller's
// buffer is free on return and the DMA overlaps whatever the host does next.
void CudaBackend::upload(int64_t n, const float* host, float* dst) {
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  if (bytes == 0) return;
  Staging& slot = staging(bytes);
  std::memcpy(slot.host, host, bytes);
  CUDA_CHECK(cudaMemcpyAsync(dst, slot.host, bytes, cudaMemcpyHostToDevice, stream_));
  CUDA_CHECK(cudaEventRecord(slot.done, stream_));
}

// The raw records, crop corners and mirror flags go out as one pinned block, one copy
// (pixels | crop_y | crop_x | mirror, the int32 arrays 4-byte aligned), then the transform
// kernel writes dst on the same stream. A quarter of the bytes of uploading the floats.
void CudaBackend::upload_transform(const InputBatchTransform& t, const uint8_t* pixels,
                                   const int32_t* crop_y, const int32_t* crop_x,
                                   const uint8_t* mirror, float* dst) {
  if (t.batch <= 0) return;
  const size_t batch = static_cast<size_t>(t.batch);
  for (size_t b = 0; b < batch; ++b)
    DIGITS_CHECK(crop_y[b] >= 0 && crop_y[b] + t.out_height <= t.height && crop_x[b] >= 0 &&
                     crop_x[b] + t.out_width <= t.width,
                 "upload_transform: crop corner ({}, {}) of record {} outside the record",
                 crop_y[b], crop_x[b], b);
  const size_t pixel_bytes = batch * static_cast<size_t>(t.channels * t.height * t.width);
  const size_t crop_y_at = (pixel_bytes + 3) / 4 * 4;
  const size_t crop_x_at = crop_y_at + batch * sizeof(int32_t);
  const size_t mirror_at = crop_x_at + batch * sizeof(int32_t);
  const size_t bytes = mirror_at + batch;
  if (bytes > input_bytes_.bytes()) {
    synchronize();  // the old buffer may still be read by a queued transform
    input_bytes_ = Buffer();  // free it first: the new one may need its room
    input_bytes_ = Buffer(Device::cuda, bytes);
  }
  Staging& slot = staging(bytes);
  auto* host = static_cast<uint8_t*>(slot.host);
  std::memcpy(host, pixels, pixel_bytes);
  std::memcpy(host + crop_y_at, crop_y, batch * sizeof(int32_t));
  std::memcpy(host + crop_x_at, crop_x, batch * sizeof(int32_t));
  std::memcpy(host + mirror_at, mirror, batch);
  auto* device = static_cast<uint8_t*>(input_bytes_.get());
  CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_));
  CUDA_CHECK(cudaEventRecord(slot.done, stream_));
  cuda_transform_batch(t, device, reinterpret_cast<const int32_t*>(device + crop_y_at),
                       reinterpret_cast<const int32_t*>(device + crop_x_at), device + mirror_at,
                       dst, stream_);
}

void* CudaBackend::scratch(size_t bytes, const char* what) {
  if (bytes > scratch_bytes_) {
    // The old scratch may still be in use by queued work: wait before freeing it.
    synchronize();
    if (scratch_) CUDA_CHECK(cudaFree(scratch_));
    scratch_ = nullptr;
    scratch_bytes_ = 0;
    cuda_check_alloc(cudaMalloc(&scratch_, bytes), what, bytes, __FILE__, __LINE__);
    scratch_bytes_ = bytes;
  }
  return scratch_;
}

const float* CudaBackend::ones(int64_t c) {
  if (c > constants_count_) {
    synchronize();
    ones_ = Buffer(Device::cuda, static_cast<size_t>(c) * sizeof(float));
    zeros_ = Buffer(Device::cuda, static_cast<size_t>(c) * sizeof(float));
    cuda_set(c, 1.0f, static_cast<float*>(ones_.get()), stream_);
    cuda_set(c, 0.0f, static_cast<float*>(zeros_.get()), stream_);
    constants_count_ = c;
  }
  return static_cast<const float*>(ones_.get());
}

const float* CudaBackend::zeros(int64_t c) {
  ones(c);
  return static_cast<const float*>(zeros_.get());
}

// ---- ops that are our own kernels (kernels/*_kernels.cu, kernels/*_cuda.cu) -----------------

void CudaBackend::set(int64_t n, float value, float* y) { cuda_set(n, value, y, stream_); }
void CudaBackend::copy(int64_t n, const float* x, float* y) { cuda_copy(n, x, y, stream_); }
void CudaBackend::axpy(int64_t n, float alpha, const float* x, float* y) {
  cuda_axpy(n, alpha, x, y, stream_);
}
void CudaBackend::scale(int64_t n, float alpha, float* y) { cuda_scale(n, alpha, y, stream_); }

double CudaBackend::sum_squares(int64_t n, const float* x) {
  if (n == 0) return 0.0;
  void* partials = scratch(cuda_reduce_scratch_bytes() + sizeof(double), "sum_squares");
  double* result = reinterpret_cast<double*>(static_cast<char*>(partials) +
                                             cuda_reduce_scratch_bytes());
  cuda_sum_squares(n, x, result, partials, stream_);
  CUDA_CHECK(cudaMemcpyAsync(result_, result, sizeof(double), cudaMemcpyDeviceToHost, stream_));
  synchronize();
  double value;
  std::memcpy(&value, result_, sizeof(double));
  return value;
}

void CudaBackend::copy_2d(int64_t rows, int64_t cols, const float* src, int64_t src_stride,
                          float* dst, int64_t dst_stride) {
  cuda_copy_2d(rows, cols, src, src_stride, dst, dst_stride, stream_);
}

void CudaBackend::add_bias(int64_t outer, int64_t channels, int64_t inner, const float* bias,
                           float* y) {
  cuda_add_bias(outer, channels, inner, bias, y, stream_);
}

void CudaBackend::bias_backward(int64_t outer, int64_t channels, int64_t inner, const float* dy,
                                float* dbias) {
  cuda_bias_backward(outer, channels, inner, dy, dbias, stream_);
}

void CudaBackend::pool_forward(const PoolShape& s, const float* x, float* y, float* mask) {
  cuda_pool_forward(s, x, y, mask, stream_);
}

void CudaBackend::pool_backward(const PoolShape& s, const float* x, const float* /*y*/,
                                const float* dy, const float* mask, float* dx) {
  cuda_pool_backward(s, x, dy, mask, dx, stream_);
}

void CudaBackend::activation_forward(Activation act, float alpha, int64_t n, const float* x,
                                     float* y) {
  cuda_activation_forward(act, alpha, n, x, y, stream_);
}

void CudaBackend::activation_backward(Activation act, float alpha, int64_t n, const float* /*x*/,
                                      const float* y, const float* dy, float* dx) {
  cuda_activation_backward(act, alpha, n, y, dy, dx, stream_);
}

void CudaBackend::power_forward(int64_t n, float power, float scale, float shift, const float* x,
                                float* y) {
  cuda_power_forward(n, power, scale, shift, x, y, stream_);
}

void CudaBackend::power_backward(int64_t n, float power, float scale, float shift,
                                 const float* x, const float* y, const float* dy, float* dx) {
  cuda_power_backward(n, power, scale, shift, x, y, dy, dx, stream_);
}

// The loss and accuracy kernels count malformed labels instead of reading out of bounds: the
// reduction's result comes back to the host (the one copy these ops make), and the first bad
// label is reported as the CPU backend reports it (Error data). `launch(result, scratch)`
// enqueues the reduction.
template <typename Launch>
CudaLabelResult CudaBackend::label_result(const char* op, int64_t channels, Launch launch) {
  const size_t reduce = cuda_reduce_scratch_bytes();
  char* base = static_cast<char*>(scratch(reduce + sizeof(CudaLabelResult), op));
  auto* device_result = reinterpret_cast<CudaLabelResult*>(base + reduce);
  launch(device_result, base);
  CUDA_CHECK(cudaMemcpyAsync(result_, device_result, sizeof(CudaLabelResult),
                             cudaMemcpyDeviceToHost, stream_));
  synchronize();
  CudaLabelResult r;
  std::memcpy(&r, result_, sizeof(r));
  if (r.bad_labels > 0)
    fail_data("cuda backend: {}: label {} at position {} is not a class index in [0, {})", op,
              r.first_bad_label, r.first_bad, channels);
  return r;
}

double CudaBackend::softmax_loss_forward(int64_t outer, int64_t channels, int64_t inner,
                                         const float* prob, const float* label, bool has_ignore,
                                         int ignore_label, int64_t* valid) {
  const CudaLabelResult r =
      label_result("softmax_loss_forward", channels, [&](CudaLabelResult* result, void* work) {
        cuda_softmax_loss_forward(outer, channels, inner, prob, label, has_ignore, ignore_label,
                                  result, work, stream_);
      });
  *valid = r.valid;
  return r.loss;
}

void CudaBackend::softmax_loss_backward(int64_t outer, int64_t channels, int64_t inner,
                                        const float* prob, const float* label, bool has_ignore,
                                        int ignore_label, float scale, float* dx) {
  cuda_softmax_loss_backward(outer, channels, inner, prob, label, has_ignore, ignore_label, scale,
                             dx, stream_);
}

void CudaBackend::accuracy(int64_t outer, int64_t channels, int64_t inner, const float* x,
                           const float* label, int top_k, bool has_ignore, int ignore_label,
                           int64_t* correct, int64_t* valid) {
  const CudaLabelResult r =
      label_result("accuracy", channels, [&](CudaLabelResult* result, void* work) {
        cuda_accuracy(outer, channels, inner, x, label, top_k, has_ignore, ignore_label, result,
                      work, stream_);
      });
  *correct = r.correct;
  *valid = r.valid;
}

void CudaBackend::channel_scale_forward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                        const float* gamma, const float* beta, float* y) {
  cuda_channel_scale_forward(n, c, spatial, x, gamma, beta, y, stream_);
}

void CudaBackend::channel_scale_backward(int64_t n, int64_t c, int64_t spatial, const float* x,
                                         const float* gamma, const float* dy, float* dx,
                                         float* dgamma, float* dbeta) {
  cuda_channel_scale_backward(n, c, spatial, x, gamma, dy, dx, dgamma, dbeta, stream_);
}

void CudaBackend::dropout_forward(int64_t n, float ratio, uint64_t seed, uint64_t offset,
                                  const float* x, float* mask, float* y) {
  cuda_dropout_forward(n, ratio, seed, offset, x, mask, y, stream_);
}

void CudaBackend::dropout_backward(int64_t n, const float* mask, const float* dy, float* dx) {
  cuda_dropout_backward(n, mask, dy, dx, stream_);
}

void CudaBackend::eltwise_forward(EltwiseOp op, int64_t n, int num_inputs, const float* const* xs,
                                  const float* coeffs, float* y, float* argmax) {
  cuda_eltwise_forward(op, n, num_inputs, xs, coeffs, y, argmax, stream_);
}

void CudaBackend::eltwise_backward(EltwiseOp op, int64_t n, int input_index, const float* x,
                                   const float* y, const float* dy, float coeff,
                                   const float* argmax, float* dx) {
  cuda_eltwise_backward(op, n, input_index, x, y, dy, coeff, argmax, dx, stream_);
}

void CudaBackend::solver_update(const SolverStep& step, int64_t n, float* w, float* g, float* h1,
                                float* h2) {
  cuda_solver_update(step, n, w, g, h1, h2, stream_);
}

}  // namespace digits
