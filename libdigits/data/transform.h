// The per-sample transform between a stored record and the network's input, shared by training
// (BatchLoader::fill) and inference (infer/preprocess.h) so both compute exactly the same
// floats:
//   out[c, y, x] = (pixels[c, y0 + y, x0 + sx] - mean[c, y0 + y, x0 + sx]) * scale
// with sx = x, or out_width - 1 - x when mirrored; mean is the (C, H, W) mean image cropped at
// the same offset ("image"), its per-channel average ("pixel"), or 0 ("none"). This is Caffe's
// DataTransformer order: crop and mirror, subtract the mean, then scale.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace digits {

// What a sample's transform and a batch's on a backend (backend.h, InputBatchTransform) share:
// the record's shape, the size after the crop, and the scale.
struct TransformGeometry {
  int64_t channels = 0, height = 0, width = 0;  // the record (C, H, W)
  int64_t out_height = 0, out_width = 0;        // after the crop (the record's size without one)
  float scale = 1.0f;
};

struct SampleTransform : TransformGeometry {
  const float* mean_image = nullptr;  // (C, H, W), not owned; set only for mean "image"
  std::vector<float> mean_pixel;      // (C); zeros for "none", used when no mean_image
};

// crop: 0 for none, else the side of the square crop (at most height and width).
// mean_mode: "none" | "image" | "pixel"; `mean` is the (C, H, W) mean image (needed unless
// mean_mode is none) and must outlive the result. Usage error when the crop or the mean does not
// fit the record shape, or for an unknown mean mode.
SampleTransform make_sample_transform(int64_t channels, int64_t height, int64_t width,
                                      int64_t crop, const std::string& mean_mode,
                                      const std::vector<float>& mean, float scale);

// The centre crop's top-left corner: ((height - out_height) / 2, (width - out_width) / 2).
int64_t centre_crop_y(const SampleTransform& transform);
int64_t centre_crop_x(const SampleTransform& transform);

// out (C, out_height, out_width) = transform of pixels (C, H, W) uint8, planar BGR, with the
// crop's top-left corner at (y0, x0). Overwrites out.
void transform_sample(const SampleTransform& transform, const uint8_t* pixels, int64_t y0,
                      int64_t x0, bool mirror, float* out);

}  // namespace digits
