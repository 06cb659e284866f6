#include "data/transform.h"

#include <algorithm>

#include "core/error.h"

namespace digits {

SampleTransform make_sample_transform(int64_t channels, int64_t height, int64_t width,
                                      int64_t crop, const std::string& mean_mode,
                                      const std::vector<float>& mean, float scale) {
  if (channels < 1 || height < 1 || width < 1)
    fail_usage("transform: record shape {}x{}x{} is not positive", channels, height, width);
  if (crop < 0 || crop > height || crop > width)
    fail_usage("crop {} does not fit the {}x{} records (0 for none, at most {})", crop, width,
               height, std::min(width, height));
  if (mean_mode != "none" && mean_mode != "image" && mean_mode != "pixel")
    fail_usage("mean \"{}\": expected none, image or pixel", mean_mode);
  const int64_t plane = height * width;
  if (mean_mode != "none" && static_cast<int64_t>(mean.size()) != channels * plane)
    fail_usage("mean {}: the mean image has {} values, the {}x{}x{} records need {}", mean_mode,
               mean.size(), channels, height, width, channels * plane);

  SampleTransform t;
  t.channels = channels;
  t.height = height;
  t.width = width;
  t.out_height = crop > 0 ? crop : height;
  t.out_width = crop > 0 ? crop : width;
  t.scale = scale;
  t.mean_pixel.assign(static_cast<size_t>(channels), 0.0f);
  if (mean_mode == "image") t.mean_image = mean.data();
  if (mean_mode == "pixel")
    for (int64_t ch = 0; ch < channels; ++ch) {
      double total = 0;
      for (int64_t i = 0; i < plane; ++i) total += mean[ch * plane + i];
      t.mean_pixel[ch] = static_cast<float>(total / plane);
    }
  return t;
}

int64_t centre_crop_y(const SampleTransform& t) { return (t.height - t.out_height) / 2; }
int64_t centre_crop_x(const SampleTransform& t) { return (t.width - t.out_width) / 2; }

void transform_sample(const SampleTransform& t, const uint8_t* pixels, int64_t y0, int64_t x0,
                      bool mirror, float* out) {
  const int64_t h = t.height, w = t.width, oh = t.out_height, ow = t.out_width;
  for (int64_t ch = 0; ch < t.channels; ++ch)
    for (int64_t y = 0; y < oh; ++y) {
      const uint8_t* row = pixels + (ch * h + y0 + y) * w + x0;
      const float* mean_row = t.mean_image ? t.mean_image + (ch * h + y0 + y) * w + x0 : nullptr;
      float* out_row = out + (ch * oh + y) * ow;
      for (int64_t x = 0; x < ow; ++x) {
        int64_t sx = mirror ? ow - 1 - x : x;
        float m = mean_row ? mean_row[sx] : t.mean_pixel[ch];
        out_row[x] = (static_cast<float>(row[sx]) - m) * t.scale;
      }
    }
}

}  // namespace digits
