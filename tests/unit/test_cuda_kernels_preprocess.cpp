// CUDA kernels vs the CPU: the input batch's crop, mirror, mean subtraction and scale
// (kernels/preprocess_kernels.cu vs data/transform.cpp transform_sample, which training and
// inference use on the CPU). The same float operations in the same order: bitwise equal.
#ifdef DIGITS_HAVE_CUDA

#include <doctest/doctest.h>

#include "backend/backend.h"
#include "cuda_test_util.h"
#include "data/transform.h"
#include "kernels/cuda_kernels.h"

using namespace digits;
using namespace digits::testing;

TEST_CASE("cuda transform_batch equals transform_sample for every mean mode, crop and mirror") {
  Rng rng(71);
  const int64_t batch = 5, channels = 3, height = 17, width = 23;
  std::vector<uint8_t> pixels(batch * channels * height * width);
  for (auto& p : pixels) p = static_cast<uint8_t>(rng.below(256));
  std::vector<float> mean(channels * height * width);
  for (auto& m : mean) m = rng.uniform(0.0f, 255.0f);
  DeviceArray<uint8_t> dpixels(pixels);
  DeviceArray<float> dmean(mean);

  for (const char* mean_mode : {"none", "image", "pixel"})
    for (int64_t crop : {int64_t(0), int64_t(11), int64_t(17)})
      for (float scale : {1.0f, 0.00390625f, 0.017f}) {
        const std::string what = std::string("transform(mean=") + mean_mode +
                                 ",crop=" + std::to_string(crop) +
                                 ",scale=" + std::to_string(scale) + ")";
        const SampleTransform t =
            make_sample_transform(channels, height, width, crop, mean_mode, mean, scale);
        // Per-sample placement: random crop corners and mirror flags, as training draws them.
        std::vector<int32_t> crop_y(batch), crop_x(batch);
        std::vector<uint8_t> mirror(batch);
        for (int64_t b = 0; b < batch; ++b) {
          crop_y[b] = static_cast<int32_t>(rng.below(height - t.out_height + 1));
          crop_x[b] = static_cast<int32_t>(rng.below(width - t.out_width + 1));
          mirror[b] = static_cast<uint8_t>(b % 2);
        }
        const int64_t sample = channels * t.out_height * t.out_width;
        std::vector<float> cpu(batch * sample);
        for (int64_t b = 0; b < batch; ++b)
          transform_sample(t, pixels.data() + b * channels * height * width, crop_y[b],
                           crop_x[b], mirror[b] != 0, cpu.data() + b * sample);

        DeviceArray<float> dmean_pixel(t.mean_pixel), out(batch * sample);
        DeviceArray<int32_t> dcrop_y(crop_y), dcrop_x(crop_x);
        DeviceArray<uint8_t> dmirror(mirror);
        InputBatchTransform ct = input_batch_transform(t, batch);
        ct.mean_image = t.mean_image ? dmean.get() : nullptr;
        ct.mean_pixel = std::string(mean_mode) == "pixel" ? dmean_pixel.get() : nullptr;
        cuda_transform_batch(ct, dpixels.get(), dcrop_y.get(), dcrop_x.get(), dmirror.get(),
                             out.get(), nullptr);
        check_close(what, out.host(), cpu, 0);
      }
}

TEST_CASE("cuda upload_transform equals the CPU backend's, from host arrays, twice in a row") {
  // The backend op the trainer feeds GPU runs through: raw records and per-sample crop corners
  // and mirror flags from the host, transformed on the device. Run twice with different
  // batches, so the second reuses the staging while the first may still be in flight.
  Backend& gpu = backend_for("gpu:0");
  Rng rng(72);
  const int64_t channels = 3, height = 20, width = 18, crop = 15;
  std::vector<float> mean(channels * height * width);
  for (auto& m : mean) m = rng.uniform(0.0f, 255.0f);
  DeviceArray<float> dmean(mean);
  for (const char* mean_mode : {"image", "pixel", "none"})
    for (int64_t batch : {int64_t(7), int64_t(33)}) {
      const std::string what = std::string("upload_transform(mean=") + mean_mode +
                               ",batch=" + std::to_string(batch) + ")";
      const SampleTransform s =
          make_sample_transform(channels, height, width, crop, mean_mode, mean, 0.017f);
      DeviceArray<float> dmean_pixel(s.mean_pixel);
      InputBatchTransform t = input_batch_transform(s, batch);
      std::vector<uint8_t> pixels(batch * channels * height * width), mirror(batch);
      for (auto& p : pixels) p = static_cast<uint8_t>(rng.below(256));
      std::vector<int32_t> crop_y(batch), crop_x(batch);
      for (int64_t b = 0; b < batch; ++b) {
        crop_y[b] = static_cast<int32_t>(rng.below(height - crop + 1));
        crop_x[b] = static_cast<int32_t>(rng.below(width - crop + 1));
        mirror[b] = static_cast<uint8_t>(rng.below(2));
      }
      const int64_t out_n = batch * channels * crop * crop;
      std::vector<float> cpu(out_n);
      t.mean_image = s.mean_image;
      t.mean_pixel = std::string(mean_mode) == "pixel" ? s.mean_pixel.data() : nullptr;
      cpu_backend().upload_transform(t, pixels.data(), crop_y.data(), crop_x.data(),
                                     mirror.data(), cpu.data());
      DeviceArray<float> out(out_n);
      t.mean_image = s.mean_image ? dmean.get() : nullptr;
      t.mean_pixel = std::string(mean_mode) == "pixel" ? dmean_pixel.get() : nullptr;
      gpu.upload_transform(t, pixels.data(), crop_y.data(), crop_x.data(), mirror.data(),
                           out.get());
      std::fill(pixels.begin(), pixels.end(), uint8_t(0));  // the caller may reuse its arrays
      check_close(what, out.host(), cpu, 0);
    }
}

#endif  // DIGITS_HAVE_CUDA
