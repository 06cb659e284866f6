// Pixel conversions shared by the decoders, with PIL's exact integer arithmetic so that our
// datasets hold the bytes DIGITS (PIL) would have stored.
#include <cstring>

#include "core/error.h"
#include "data/image_internal.h"

namespace digits::image_detail {

namespace {

// PIL's DIV255 (Paste.c): x / 255 rounded, for x in [0, 255*255].
inline uint32_t div255(uint32_t x) {
  uint32_t t = x + 128;
  return ((t >> 8) + t) >> 8;
}

// PIL's paste(image, mask=alpha) onto white: (v * a + 255 * (255 - a)) / 255, rounded.
inline uint8_t on_white(uint32_t value, uint32_t alpha) {
  return static_cast<uint8_t>(div255(value * alpha + 255 * (255 - alpha)));
}

// PIL's convert("L"): ITU-R 601-2 luma in 16-bit fixed point, rounded.
inline uint8_t luma(uint32_t r, uint32_t g, uint32_t b) {
  return static_cast<uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

}  // namespace

void convert_channels(const uint8_t* in, int in_channels, uint8_t* out, int out_channels,
                      int64_t pixel_count) {
  DIGITS_CHECK(out_channels == 1 || out_channels == 3, "out_channels {}", out_channels);
  DIGITS_CHECK(in_channels >= 1 && in_channels <= 4, "in_channels {}", in_channels);
  const size_t n = static_cast<size_t>(pixel_count);
  if (in_channels == out_channels) {
    std::memcpy(out, in, n * static_cast<size_t>(in_channels));
    return;
  }
  switch (in_channels * 10 + out_channels) {
    case 13:  // gray -> RGB
      for (size_t i = 0; i < n; ++i) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = in[i];
      break;
    case 21:  // gray+alpha -> gray on white
      for (size_t i = 0; i < n; ++i) out[i] = on_white(in[2 * i], in[2 * i + 1]);
      break;
    case 23:  // gray+alpha -> gray on white -> RGB
      for (size_t i = 0; i < n; ++i)
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = on_white(in[2 * i], in[2 * i + 1]);
      break;
    case 31:  // RGB -> luma
      for (size_t i = 0; i < n; ++i) out[i] = luma(in[3 * i], in[3 * i + 1], in[3 * i + 2]);
      break;
    case 41:  // RGBA -> RGB on white -> luma
      for (size_t i = 0; i < n; ++i) {
        const uint8_t* p = in + 4 * i;
        out[i] = luma(on_white(p[0], p[3]), on_white(p[1], p[3]), on_white(p[2], p[3]));
      }
      break;
    case 43:  // RGBA -> RGB on white
      for (size_t i = 0; i < n; ++i) {
        const uint8_t* p = in + 4 * i;
        out[3 * i] = on_white(p[0], p[3]);
        out[3 * i + 1] = on_white(p[1], p[3]);
        out[3 * i + 2] = on_white(p[2], p[3]);
      }
      break;
    default:
      DIGITS_CHECK(false, "no conversion from {} to {} channels", in_channels, out_channels);
  }
}

void cmyk_inverted_to_rgb(const uint8_t* in, uint8_t* out, int64_t pixel_count) {
  const size_t n = static_cast<size_t>(pixel_count);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = in + 4 * i;
    // Stored inverted (Adobe): ink = 255 - stored. PIL's cmyk2rgb:
    // channel = clip(nk - nk * ink / 255), nk = 255 - k_ink = stored k.
    uint32_t nk = p[3];
    for (int c = 0; c < 3; ++c) {
      uint32_t ink = 255u - p[c];
      uint32_t t = ink * nk + 128;
      uint32_t scaled = ((t >> 8) + t) >> 8;  // PIL's MULDIV255
      out[3 * i + c] = static_cast<uint8_t>(nk - scaled);  // scaled <= nk: never negative
    }
  }
}

}  // namespace digits::image_detail
