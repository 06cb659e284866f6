// Resizing: PIL's bilinear resampling (Image.resize(size, BILINEAR), which DIGITS reached
// through scipy.misc.imresize) and DIGITS's four resize modes (digits/utils/image.py).
//
// The resampler reproduces Pillow's ImagingResample bit for bit: per-output-pixel triangle
// weights with the support widened by the shrink ratio (antialiasing), normalised, in 22-bit
// fixed point; a horizontal pass over the source rows the vertical pass needs, rounded to 8
// bits, then a vertical pass.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "data/image.h"

namespace digits {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

// For each output index: the first input index and how many inputs it reads, and that many
// fixed-point weights (stored with a stride of `taps`).
struct ResampleWeights {
  int64_t taps = 0;
  std::vector<int64_t> first, count;  // (out_size)
  std::vector<int32_t> weights;       // (out_size, taps)
};

ResampleWeights bilinear_weights(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);  // widen the kernel only when shrinking
  const double support = 1.0 * filter_scale;         // the triangle filter's support is 1
  ResampleWeights r;
  r.taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  r.first.resize(out_size);
  r.count.resize(out_size);
  r.weights.assign(out_size * r.taps, 0);
  std::vector<double> w(r.taps);
  const double inverse_filter_scale = 1.0 / filter_scale;
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    // Truncating casts, as Pillow's (int) casts.
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    const int64_t n = xmax - xmin;
    double total = 0.0;
    for (int64_t x = 0; x < n; ++x) {
      double t = std::fabs((static_cast<double>(x + xmin) - center + 0.5) * inverse_filter_scale);
      w[x] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[x];
    }
    int32_t* k = &r.weights[xx * r.taps];
    for (int64_t x = 0; x < n; ++x) {
      double v = total != 0.0 ? w[x] / total : w[x];
      k[x] = static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits)
                                        : 0.5 + v * (1 << kPrecisionBits));
    }
    r.first[xx] = xmin;
    r.count[xx] = n;
  }
  return r;
}

inline uint8_t clip8(int32_t sum) {
  int32_t v = sum >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// out (rows, out_width, C) = in rows [row_begin, row_begin + rows) (.., in_width, C) resampled
// along x.
template <int C>
void resample_rows(const uint8_t* in, int64_t in_width, int64_t row_begin, int64_t rows,
                   const ResampleWeights& r, int64_t out_width, uint8_t* out) {
  for (int64_t y = 0; y < rows; ++y) {
    const uint8_t* src = in + (row_begin + y) * in_width * C;
    uint8_t* dst = out + y * out_width * C;
    for (int64_t xx = 0; xx < out_width; ++xx) {
      const int32_t* k = &r.weights[xx * r.taps];
      const uint8_t* p = src + r.first[xx] * C;
      const int64_t n = r.count[xx];
      int32_t sum[C];
      for (int c = 0; c < C; ++c) sum[c] = 1 << (kPrecisionBits - 1);
      for (int64_t x = 0; x < n; ++x)
        for (int c = 0; c < C; ++c) sum[c] += p[x * C + c] * k[x];
      for (int c = 0; c < C; ++c) dst[xx * C + c] = clip8(sum[c]);
    }
  }
}

void resample_rows_any(const uint8_t* in, int channels, int64_t in_width, int64_t row_begin,
                       int64_t rows, const ResampleWeights& r, int64_t out_width, uint8_t* out) {
  if (channels == 1) return resample_rows<1>(in, in_width, row_begin, rows, r, out_width, out);
  if (channels == 3) return resample_rows<3>(in, in_width, row_begin, rows, r, out_width, out);
  DIGITS_CHECK(false, "resample: {} channels (expected 1 or 3)", channels);
}

// out (out_height, row_len) = in (.., row_len) resampled along y; r.first is relative to `in`.
// Row-at-a-time accumulation so the inner loop runs over contiguous bytes (vectorises).
void resample_columns(const uint8_t* in, int64_t row_len, const ResampleWeights& r,
                      int64_t out_height, uint8_t* out, std::vector<int32_t>& sums) {
  sums.resize(row_len);
  for (int64_t yy = 0; yy < out_height; ++yy) {
    const int32_t* k = &r.weights[yy * r.taps];
    std::fill(sums.begin(), sums.end(), 1 << (kPrecisionBits - 1));
    int32_t* s = sums.data();
    for (int64_t y = 0; y < r.count[yy]; ++y) {
      const uint8_t* src = in + (r.first[yy] + y) * row_len;
      const int32_t weight = k[y];
      for (int64_t i = 0; i < row_len; ++i) s[i] += src[i] * weight;
    }
    uint8_t* dst = out + yy * row_len;
    for (int64_t i = 0; i < row_len; ++i) dst[i] = clip8(s[i]);
  }
}

void check_size(int64_t width, int64_t height) {
  if (width < 1 || height < 1) fail_usage("resize: target size {}x{} must be positive", width, height);
}

// Python 2's round(): half away from zero (DIGITS ran on Python 2).
int64_t py2_round(double x) { return static_cast<int64_t>(std::round(x)); }

// Columns [start, start + width) of every row.
Image crop_columns(const Image& in, int64_t start, int64_t width) {
  Image out;
  out.width = width;
  out.height = in.height;
  out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(width * in.height * in.channels));
  const int64_t row = width * in.channels;
  for (int64_t y = 0; y < in.height; ++y)
    std::memcpy(&out.pixels[y * row], &in.pixels[(y * in.width + start) * in.channels], row);
  return out;
}

// Rows [start, start + height).
Image crop_rows(const Image& in, int64_t start, int64_t height) {
  Image out;
  out.width = in.width;
  out.height = height;
  out.channels = in.channels;
  const int64_t row = in.width * in.channels;
  out.pixels.assign(in.pixels.begin() + start * row, in.pixels.begin() + (start + height) * row);
  return out;
}

// DIGITS: noise = randint(0, 255, shape) (values 0..254, drawn row-major over (rows, cols,
// channels)); concatenate((noise, image, noise)): the SAME block on both sides.
std::vector<uint8_t> draw_noise(int64_t count, Rng& rng) {
  std::vector<uint8_t> noise(static_cast<size_t>(count));
  for (auto& v : noise) v = static_cast<uint8_t>(rng.below(255));
  return noise;
}

Image pad_rows_with_noise(const Image& in, int64_t padding, Rng& rng) {
  const int64_t row = in.width * in.channels;
  std::vector<uint8_t> noise = draw_noise(padding * row, rng);
  Image out;
  out.width = in.width;
  out.height = in.height + 2 * padding;
  out.channels = in.channels;
  out.pixels.reserve(static_cast<size_t>(out.height * row));
  out.pixels.insert(out.pixels.end(), noise.begin(), noise.end());
  out.pixels.insert(out.pixels.end(), in.pixels.begin(), in.pixels.end());
  out.pixels.insert(out.pixels.end(), noise.begin(), noise.end());
  return out;
}

Image pad_columns_with_noise(const Image& in, int64_t padding, Rng& rng) {
  const int64_t pad_row = padding * in.channels, in_row = in.width * in.channels;
  std::vector<uint8_t> noise = draw_noise(in.height * pad_row, rng);  // (height, padding, C)
  Image out;
  out.width = in.width + 2 * padding;
  out.height = in.height;
  out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(out.width * out.height * out.channels));
  for (int64_t y = 0; y < in.height; ++y) {
    uint8_t* dst = &out.pixels[y * (in_row + 2 * pad_row)];
    std::memcpy(dst, &noise[y * pad_row], pad_row);
    std::memcpy(dst + pad_row, &in.pixels[y * in_row], in_row);
    std::memcpy(dst + pad_row + in_row, &noise[y * pad_row], pad_row);
  }
  return out;
}

}  // namespace

ResizeMode parse_resize_mode(const std::string& name) {
  if (name == "squash") return ResizeMode::squash;
  if (name == "crop") return ResizeMode::crop;
  if (name == "fill") return ResizeMode::fill;
  if (name == "half_crop" || name == "half-crop") return ResizeMode::half_crop;
  fail_usage("unknown resize mode \"{}\" (choices: squash, crop, fill, half_crop)", name);
}

const char* resize_mode_name(ResizeMode mode) {
  switch (mode) {
    case ResizeMode::squash: return "squash";
    case ResizeMode::crop: return "crop";
    case ResizeMode::fill: return "fill";
    case ResizeMode::half_crop: return "half_crop";
  }
  return "squash";
}

Image resample_bilinear(const Image& image, int64_t width, int64_t height) {
  check_size(width, height);
  DIGITS_CHECK(image.width > 0 && image.height > 0 &&
                   image.pixels.size() == static_cast<size_t>(image.width * image.height *
                                                              image.channels),
               "resample: malformed image {}x{}x{} with {} bytes", image.width, image.height,
               image.channels, image.pixels.size());
  const int channels = image.channels;
  const bool need_horizontal = width != image.width, need_vertical = height != image.height;
  if (!need_horizontal && !need_vertical) return image;

  Image out;
  out.width = width;
  out.height = height;
  out.channels = channels;
  out.pixels.resize(static_cast<size_t>(width * height * channels));
  if (!need_vertical) {
    ResampleWeights horizontal = bilinear_weights(image.width, width);
    resample_rows_any(image.pixels.data(), channels, image.width, 0, height, horizontal, width,
                      out.pixels.data());
    return out;
  }
  ResampleWeights vertical = bilinear_weights(image.height, height);
  // Per-thread buffers: steady-state ingestion touches no fresh pages.
  thread_local std::vector<uint8_t> between;  // (rows used, width, C) after the first pass
  thread_local std::vector<int32_t> sums;
  const uint8_t* columns_in = image.pixels.data();
  if (need_horizontal) {
    // Only the source rows some output row reads: [first row, last row).
    const int64_t row_begin = vertical.first[0];
    const int64_t row_end = vertical.first[height - 1] + vertical.count[height - 1];
    for (int64_t yy = 0; yy < height; ++yy) vertical.first[yy] -= row_begin;
    ResampleWeights horizontal = bilinear_weights(image.width, width);
    between.resize(static_cast<size_t>((row_end - row_begin) * width * channels));
    resample_rows_any(image.pixels.data(), channels, image.width, row_begin, row_end - row_begin,
                      horizontal, width, between.data());
    columns_in = between.data();
  }
  resample_columns(columns_in, width * channels, vertical, height, out.pixels.data(), sums);
  if (between.capacity() > (size_t{64} << 20)) std::vector<uint8_t>().swap(between);
  return out;
}

Image resize_image(const Image& image, int64_t width, int64_t height, ResizeMode mode, Rng& rng) {
  check_size(width, height);
  if (image.width == width && image.height == height) return image;
  const int64_t w = image.width, h = image.height;
  const double width_ratio = static_cast<double>(w) / static_cast<double>(width);
  const double height_ratio = static_cast<double>(h) / static_cast<double>(height);
  if (mode == ResizeMode::squash || width_ratio == height_ratio)
    return resample_bilinear(image, width, height);
  // "wide": relatively wider than the target (the width is cropped or the height padded).
  const bool wide = width_ratio > height_ratio;

  if (mode == ResizeMode::crop) {
    // Scale by the smaller ratio (the image covers the target), centre-crop the long side.
    if (wide) {
      int64_t resize_width = std::max(py2_round(static_cast<double>(w) / height_ratio), width);
      Image scaled = resample_bilinear(image, resize_width, height);
      return crop_columns(scaled, py2_round(static_cast<double>(resize_width - width) / 2.0), width);
    }
    int64_t resize_height = std::max(py2_round(static_cast<double>(h) / width_ratio), height);
    Image scaled = resample_bilinear(image, width, resize_height);
    return crop_rows(scaled, py2_round(static_cast<double>(resize_height - height) / 2.0), height);
  }

  int64_t resize_width = 0, resize_height = 0;
  if (mode == ResizeMode::fill) {
    // Scale by the larger ratio (the image fits inside); the padded side gets an even margin.
    if (wide) {
      resize_width = width;
      resize_height = std::max<int64_t>(py2_round(static_cast<double>(h) / width_ratio), 1);
      if ((height - resize_height) % 2 == 1) resize_height += 1;
    } else {
      resize_height = height;
      resize_width = std::max<int64_t>(py2_round(static_cast<double>(w) / height_ratio), 1);
      if ((width - resize_width) % 2 == 1) resize_width += 1;
    }
  } else {
    // half_crop: scale by the mean ratio; crop the long side, pad the short one evenly.
    const double ratio = (width_ratio + height_ratio) / 2.0;
    resize_width = std::max<int64_t>(py2_round(static_cast<double>(w) / ratio), 1);
    resize_height = std::max<int64_t>(py2_round(static_cast<double>(h) / ratio), 1);
    if (wide && (height - resize_height) % 2 == 1) resize_height += 1;
    if (!wide && (width - resize_width) % 2 == 1) resize_width += 1;
  }
  Image scaled = resample_bilinear(image, resize_width, resize_height);
  if (mode == ResizeMode::half_crop) {
    DIGITS_CHECK(wide ? resize_width >= width : resize_height >= height,
                 "resize: half_crop scaled to {}x{} for a target of {}x{}", resize_width,
                 resize_height, width, height);
    if (wide)
      scaled = crop_columns(scaled, py2_round(static_cast<double>(resize_width - width) / 2.0),
                            width);
    else
      scaled = crop_rows(scaled, py2_round(static_cast<double>(resize_height - height) / 2.0),
                         height);
  }
  if (wide) {
    DIGITS_CHECK(resize_height <= height, "resize: {} rows for a target of {}", resize_height, height);
    return pad_rows_with_noise(scaled, (height - resize_height) / 2, rng);
  }
  DIGITS_CHECK(resize_width <= width, "resize: {} columns for a target of {}", resize_width, width);
  return pad_columns_with_noise(scaled, (width - resize_width) / 2, rng);
}

}  // namespace digits
