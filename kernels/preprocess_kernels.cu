// The input batch's per-sample transform on the GPU: crop, mirror, mean subtraction and scale
// of uint8 records already copied to the device. The CPU twin is transform_sample in
// data/transform.cpp (Caffe's DataTransformer order: crop and mirror, subtract the mean, then
// scale); the same operations in the same order give the same floats.
#include "kernels/cuda_kernels.h"
#include "kernels/kernel_util.cuh"

namespace digits {

using kernels::kThreads;

namespace {

// One thread per output element (b, ch, y, x) of out (batch, C, out_height, out_width).
__global__ void transform_batch_kernel(InputBatchTransform t, int64_t total, const uint8_t* pixels,
                                       const int32_t* crop_y, const int32_t* crop_x,
                                       const uint8_t* mirror, float* out) {
  const int64_t h = t.height, w = t.width, oh = t.out_height, ow = t.out_width;
  DIGITS_KERNEL_LOOP(e, total) {
    const int64_t x = e % ow, y = (e / ow) % oh, ch = (e / (ow * oh)) % t.channels,
                  b = e / (ow * oh * t.channels);
    const int64_t sx = mirror[b] ? ow - 1 - x : x;
    const int64_t row = ch * h + crop_y[b] + y;  // within the record
    const int64_t column = crop_x[b] + sx;
    const float pixel = static_cast<float>(pixels[(b * t.channels * h + row) * w + column]);
    const float mean = t.mean_image   ? t.mean_image[row * w + column]
                       : t.mean_pixel ? t.mean_pixel[ch]
                                      : 0.0f;
    out[e] = (pixel - mean) * t.scale;
  }
}

}  // namespace

void cuda_transform_batch(const InputBatchTransform& t, const uint8_t* pixels,
                          const int32_t* crop_y, const int32_t* crop_x, const uint8_t* mirror,
                          float* out, cudaStream_t stream) {
  CUDA_REQUIRE(t.channels >= 1 && t.height >= 1 && t.width >= 1, "cuda_transform_batch");
  CUDA_REQUIRE(t.out_height >= 1 && t.out_height <= t.height && t.out_width >= 1 &&
                   t.out_width <= t.width,
               "cuda_transform_batch");
  const int64_t total = t.batch * t.channels * t.out_height * t.out_width;
  if (total <= 0) return;
  transform_batch_kernel<<<kernels::elementwise_blocks(total), kThreads, 0, stream>>>(
      t, total, pixels, crop_y, crop_x, mirror, out);
  CUDA_CHECK_LAUNCH("transform_batch_kernel");
}

}  // namespace digits
