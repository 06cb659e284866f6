// BMP, GIF (first frame), TGA and binary PNM (P5/P6) through stb_image. stb is not the JPEG/PNG
// path (it ignores EXIF and is not hardened for hostile input); for these simpler formats we
// add the checks stb lacks: the pixel limit before it allocates, and truncation (stb reads
// zeros past the end of its buffer instead of failing, where PIL, hence DIGITS, refused).
#include <cstdlib>
#include <memory>

#include "core/error.h"
#include "data/image_internal.h"

// stb_image's implementation, private to this file (static functions) so that another file
// may include its own copy. Only the formats we route here are compiled.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_TGA
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wstringop-overflow"  // false positives in stbi__convert_format
#include "stb_image.h"
#pragma GCC diagnostic pop

namespace digits::image_detail {

namespace {

// Bytes an uncompressed file needs; 0 when its size is not known up front (RLE, GIF).
uint64_t uncompressed_size_needed(const uint8_t* bytes, size_t size, const ImageInfo& info) {
  const uint64_t w = static_cast<uint64_t>(info.width), h = static_cast<uint64_t>(info.height);
  switch (info.format) {
    case ImageFormat::bmp: {
      uint32_t header_size = read_le32(bytes + 14);
      uint32_t data_offset = read_le32(bytes + 10);
      uint32_t bits = header_size == 12 ? read_le16(bytes + 24) : read_le16(bytes + 28);
      uint32_t compression = header_size == 12 || size < 34 ? 0 : read_le32(bytes + 30);
      if (compression != 0 && compression != 3 && compression != 6) return 0;  // RLE
      uint64_t row = (w * bits + 31) / 32 * 4;  // rows padded to 4 bytes
      return data_offset + row * h;
    }
    case ImageFormat::tga: {
      uint8_t image_type = bytes[2];
      if (image_type > 3) return 0;  // RLE
      uint64_t colormap = bytes[1] == 1 ? read_le16(bytes + 5) * uint64_t{(bytes[7] + 7u) / 8} : 0;
      return 18 + uint64_t{bytes[0]} + colormap + w * h * ((bytes[16] + 7u) / 8);
    }
    case ImageFormat::pnm: {
      PnmHeader header;
      header.magic = static_cast<char>(bytes[1]);
      if (!parse_pnm_header(bytes, size, &header)) return 0;
      uint64_t sample_bytes = header.maxval > 255 ? 2 : 1;
      return header.data_offset + w * h * static_cast<uint64_t>(info.channels_in_file) * sample_bytes;
    }
    default:
      return 0;
  }
}

}  // namespace

void decode_with_stb(const uint8_t* bytes, size_t size, const ImageInfo& info,
                     const DecodeOptions& options, Image& out) {
  const char* format = image_format_name(info.format);
  if (info.format == ImageFormat::pnm && bytes[1] != '5' && bytes[1] != '6')
    fail_data("unsupported PNM variant P{} (only binary P5 gray and P6 colour)",
              static_cast<char>(bytes[1]));
  if (size > 0x7fffffff) fail_data("{} file too large ({} bytes)", format, size);
  uint64_t needed = uncompressed_size_needed(bytes, size, info);
  if (needed > size)
    fail_data("truncated {} data ({} bytes, the header needs {})", format, size, needed);
  // A GIF ends with its trailer byte ';'; a file cut short does not.
  if (info.format == ImageFormat::gif && bytes[size - 1] != 0x3B)
    fail_data("truncated GIF data (no trailer)");

  const int length = static_cast<int>(size);
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(bytes, length, &width, &height, &channels))
    fail_data("corrupt {} data: {}", format, stbi_failure_reason());
  // stb's idea of the size is what it allocates for: check it too.
  check_pixel_limit(width, height, options.max_pixels);
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes, length, &width, &height, &channels, 0), stbi_image_free);
  if (!pixels) fail_data("corrupt {} data: {}", format, stbi_failure_reason());

  set_image_shape(out, width, height, options.channels);
  convert_channels(pixels.get(), channels, out.pixels.data(), options.channels,
                   int64_t{width} * height);
}

}  // namespace digits::image_detail
