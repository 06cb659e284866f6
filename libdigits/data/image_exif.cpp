// EXIF orientation: a small bounded reader for the JPEG APP1 "Exif" segment (a TIFF structure),
// and the eight orientation transforms.
#include <cstring>

#include "data/image_internal.h"

namespace digits::image_detail {

int64_t find_tiff_ifd0_tag(const uint8_t* tiff, size_t size, uint16_t tag) {
  // Header: "II" (little-endian) or "MM" (big-endian), 42, offset of IFD0 (4 bytes).
  // IFD: entry count (2), then entries of 12 bytes: tag(2) type(2) count(4) value/offset(4).
  if (size < 8) return -1;
  bool little = tiff[0] == 'I' && tiff[1] == 'I';
  bool big = tiff[0] == 'M' && tiff[1] == 'M';
  if (!little && !big) return -1;
  auto u16 = [&](size_t at) { return little ? read_le16(tiff + at) : read_be16(tiff + at); };
  auto u32 = [&](size_t at) { return little ? read_le32(tiff + at) : read_be32(tiff + at); };
  if (u16(2) != 42) return -1;
  uint64_t ifd = u32(4);
  if (ifd + 2 > size) return -1;
  uint32_t entry_count = u16(static_cast<size_t>(ifd));
  for (uint32_t i = 0; i < entry_count; ++i) {
    uint64_t entry = ifd + 2 + 12 * static_cast<uint64_t>(i);
    if (entry + 12 > size) return -1;
    size_t at = static_cast<size_t>(entry);
    if (u16(at) != tag) continue;
    uint32_t type = u16(at + 2), count = u32(at + 4);
    if (count < 1) return -1;
    if (type == 3) return u16(at + 8);  // SHORT: value in the first two bytes of the field
    if (type == 4) return u32(at + 8);  // LONG
    return -1;
  }
  return -1;
}

int jpeg_exif_orientation(const uint8_t* bytes, size_t size) {
  size_t pos = 2;  // after SOI
  while (pos + 4 <= size) {
    if (bytes[pos] != 0xFF) {  // garbage between segments: skipped, as libjpeg does
      ++pos;
      continue;
    }
    uint8_t marker = bytes[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0x00) {  // a stuffed 0xFF 0x00 inside garbage: not a marker
      pos += 2;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1;  // image data or end: no EXIF before it
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // markers without a length
      pos += 2;
      continue;
    }
    size_t length = read_be16(bytes + pos + 2);  // includes the two length bytes
    if (length < 2 || pos + 2 + length > size) return 1;
    const uint8_t* body = bytes + pos + 4;
    size_t body_size = length - 2;
    if (marker == 0xE1 && body_size >= 6 && std::memcmp(body, "Exif\0\0", 6) == 0) {
      int64_t orientation = find_tiff_ifd0_tag(body + 6, body_size - 6, 0x0112);
      return orientation >= 1 && orientation <= 8 ? static_cast<int>(orientation) : 1;
    }
    pos += 2 + length;
  }
  return 1;
}

namespace {

// out(x', y') = in[start + x' * step_x + y' * step_y] (indices in pixels).
template <int Channels>
void copy_strided(const uint8_t* in, uint8_t* out, int64_t out_width, int64_t out_height,
                  int64_t start, int64_t step_x, int64_t step_y) {
  for (int64_t y = 0; y < out_height; ++y) {
    const uint8_t* src = in + (start + y * step_y) * Channels;
    uint8_t* dst = out + y * out_width * Channels;
    for (int64_t x = 0; x < out_width; ++x) {
      for (int c = 0; c < Channels; ++c) dst[x * Channels + c] = src[x * step_x * Channels + c];
    }
  }
}

}  // namespace

void apply_orientation(const Image& image, int orientation, Image& out) {
  if (orientation < 2 || orientation > 8) {
    out = image;
    return;
  }
  const int64_t w = image.width, h = image.height;
  // Where output pixel (x', y') comes from in the stored image, as (start, step_x, step_y) in
  // stored pixel indices y * w + x. 5..8 swap the axes.
  int64_t start = 0, step_x = 1, step_y = w;
  switch (orientation) {
    case 2: start = w - 1; step_x = -1; step_y = w; break;                // mirror
    case 3: start = (h - 1) * w + w - 1; step_x = -1; step_y = -w; break; // rotate 180
    case 4: start = (h - 1) * w; step_x = 1; step_y = -w; break;          // flip
    case 5: start = 0; step_x = w; step_y = 1; break;                     // transpose
    case 6: start = (h - 1) * w; step_x = -w; step_y = 1; break;          // rotate 90 CW
    case 7: start = (h - 1) * w + w - 1; step_x = -w; step_y = -1; break; // transverse
    case 8: start = w - 1; step_x = w; step_y = -1; break;                // rotate 90 CCW
  }
  if (orientation >= 5)
    set_image_shape(out, h, w, image.channels);
  else
    set_image_shape(out, w, h, image.channels);
  if (image.channels == 1)
    copy_strided<1>(image.pixels.data(), out.pixels.data(), out.width, out.height, start, step_x,
                    step_y);
  else
    copy_strided<3>(image.pixels.data(), out.pixels.data(), out.width, out.height, start, step_x,
                    step_y);
}

}  // namespace digits::image_detail
