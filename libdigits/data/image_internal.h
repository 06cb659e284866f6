// Private to the image_*.cpp files: the per-format decoders and the pixel conversions they
// share. Nothing here is part of the public API (data/image.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "data/image.h"

namespace digits::image_detail {

// Throws Error(data) "image WxH exceeds --max-pixels N" when width * height > max_pixels.
// Every decoder calls it with the header's size before allocating pixels.
void check_pixel_limit(int64_t width, int64_t height, int64_t max_pixels);

// Converts 8-bit interleaved pixels with `in_channels` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)
// to `out_channels` (1 or 3) exactly as DIGITS (PIL) did: alpha composited on white first (PIL
// paste with mask: (in*a + 255*(255-a)) / 255, rounded), then gray replicated or colour reduced
// to luma (PIL's convert("L"): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16).
// `in` holds pixel_count*in_channels bytes; `out` holds pixel_count*out_channels bytes and does
// not overlap `in`.
void convert_channels(const uint8_t* in, int in_channels, uint8_t* out, int out_channels,
                      int64_t pixel_count);

// Adobe-convention (inverted) CMYK, as libjpeg returns it for CMYK/YCCK JPEGs, to RGB exactly as
// PIL does (rawmode "CMYK;I", then convert("RGB")). `in` 4 bytes per pixel, `out` 3.
// `out` may be `in` (each pixel is read before its bytes are overwritten).
void cmyk_inverted_to_rgb(const uint8_t* in, uint8_t* out, int64_t pixel_count);

// A PNM header: magic '1'..'6' (bytes[1]), then width, height and (except P1/P4) maxval.
struct PnmHeader {
  char magic = 0;            // set by the caller from bytes[1]
  int64_t width = 0, height = 0, maxval = 0;
  size_t data_offset = 0;    // first byte of the pixel data
};
// Parses the header after "P<magic>". Returns false if the bytes end inside it; throws
// Error(data) on a malformed field.
bool parse_pnm_header(const uint8_t* bytes, size_t size, PnmHeader* header);

// Sets out's size and resizes its pixel buffer (capacity reused; contents unspecified).
void set_image_shape(Image& out, int64_t width, int64_t height, int channels);

// Decoders: `info` is probe_image()'s result for these bytes (format already identified, size
// already checked against options.max_pixels). Write an image with options.channels to `out`.
void decode_jpeg(const uint8_t* bytes, size_t size, const ImageInfo& info,
                 const DecodeOptions& options, Image& out);
void decode_png(const uint8_t* bytes, size_t size, const ImageInfo& info,
                const DecodeOptions& options, Image& out);
// BMP, GIF (first frame), TGA, PNM (binary P5/P6) through stb_image.
void decode_with_stb(const uint8_t* bytes, size_t size, const ImageInfo& info,
                     const DecodeOptions& options, Image& out);

// EXIF orientation (1..8) from a JPEG's APP1 "Exif" segment; 1 when there is none or it is
// malformed (a broken EXIF block never rejects an image that decodes). Reads only marker
// segments before the first SOS, every offset bounds-checked.
int jpeg_exif_orientation(const uint8_t* bytes, size_t size);
// Returns the image turned upright for an EXIF orientation 1..8 (PIL's ImageOps.exif_transpose):
// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
// counter-clockwise. Orientations 5..8 swap width and height. `out` must not be `image`.
void apply_orientation(const Image& image, int orientation, Image& out);

// Big- and little-endian reads; the caller has checked the bounds.
inline uint32_t read_be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
inline uint32_t read_le16(const uint8_t* p) { return (uint32_t(p[1]) << 8) | p[0]; }
inline uint32_t read_be32(const uint8_t* p) { return (read_be16(p) << 16) | read_be16(p + 2); }
inline uint32_t read_le32(const uint8_t* p) { return (read_le16(p + 2) << 16) | read_le16(p); }

// A TIFF structure (a TIFF file, or the body of an EXIF block): byte order from its "II"/"MM"
// header, and the first IFD. find_ifd0_tag() returns the first value of a SHORT or LONG entry
// with `tag` in IFD0, or -1 if absent or out of bounds.
int64_t find_tiff_ifd0_tag(const uint8_t* tiff, size_t size, uint16_t tag);

}  // namespace digits::image_detail
