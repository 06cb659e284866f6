// Format identification by magic bytes and header parsing without decoding (probe_image), and
// the dispatch to the per-format decoders (decode_image, read_image_file).
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "data/image.h"
#include "data/image_internal.h"

namespace digits {

namespace image_detail {

void set_image_shape(Image& out, int64_t width, int64_t height, int channels) {
  out.width = width;
  out.height = height;
  out.channels = channels;
  out.pixels.resize(static_cast<size_t>(width * height * channels));
}

void check_pixel_limit(int64_t width, int64_t height, int64_t max_pixels) {
  // width and height come from 16- or 32-bit header fields, so the product fits in int64_t.
  if (width * height > max_pixels)
    fail_data("image {}x{} exceeds --max-pixels {}", width, height, max_pixels);
}

bool parse_pnm_header(const uint8_t* bytes, size_t size, PnmHeader* header) {
  // "P5 <w> <h> <maxval><one whitespace byte>", fields separated by whitespace and #-comments.
  size_t pos = 2;
  int64_t fields[3] = {0, 0, 0};
  int field_count = header->magic == '1' || header->magic == '4' ? 2 : 3;  // bitmaps: no maxval
  for (int i = 0; i < field_count; ++i) {
    for (;;) {  // skip whitespace and comments
      if (pos >= size) return false;
      if (bytes[pos] == '#') {
        while (pos < size && bytes[pos] != '\n' && bytes[pos] != '\r') ++pos;
      } else if (std::strchr(" \t\r\n\v\f", bytes[pos]) != nullptr && bytes[pos] != 0) {
        ++pos;
      } else {
        break;
      }
    }
    if (bytes[pos] < '0' || bytes[pos] > '9')
      fail_data("corrupt PNM header: expected a number at byte {}", pos);
    int64_t value = 0;
    while (pos < size && bytes[pos] >= '0' && bytes[pos] <= '9') {
      value = value * 10 + (bytes[pos] - '0');
      if (value > 0x7fffffff) fail_data("corrupt PNM header: number too large at byte {}", pos);
      ++pos;
    }
    if (pos >= size) return false;  // a header field must be followed by whitespace
    fields[i] = value;
  }
  header->width = fields[0];
  header->height = fields[1];
  header->maxval = field_count == 3 ? fields[2] : 1;
  header->data_offset = pos + 1;  // exactly one whitespace byte ends the header
  return true;
}

}  // namespace image_detail

using namespace image_detail;

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::png: return "png";
    case ImageFormat::jpeg: return "jpeg";
    case ImageFormat::bmp: return "bmp";
    case ImageFormat::gif: return "gif";
    case ImageFormat::tga: return "tga";
    case ImageFormat::pnm: return "pnm";
    case ImageFormat::tiff: return "tiff";
    case ImageFormat::unknown: break;
  }
  return "unknown";
}

namespace {

[[noreturn]] void fail_truncated_header(ImageFormat format) {
  fail_data("truncated header ({} signature, file ends inside the header)",
            image_format_name(format));
}

ImageInfo probe_png(const uint8_t* bytes, size_t size) {
  // signature(8) | IHDR length(4) "IHDR"(4) width(4) height(4) bit depth(1) colour type(1) ...
  if (size < 26) fail_truncated_header(ImageFormat::png);
  if (std::memcmp(bytes + 12, "IHDR", 4) != 0) fail_data("corrupt PNG data: first chunk is not IHDR");
  ImageInfo info;
  info.format = ImageFormat::png;
  info.width = read_be32(bytes + 16);
  info.height = read_be32(bytes + 20);
  if (info.width == 0 || info.height == 0 || info.width > 0x7fffffff || info.height > 0x7fffffff)
    fail_data("corrupt PNG data: IHDR size {}x{}", info.width, info.height);
  switch (bytes[25]) {
    case 0: info.channels_in_file = 1; break;  // gray
    case 2: info.channels_in_file = 3; break;  // RGB
    case 3: info.channels_in_file = 3; break;  // palette (tRNS may add alpha; not looked for)
    case 4: info.channels_in_file = 2; break;  // gray + alpha
    case 6: info.channels_in_file = 4; break;  // RGBA
    default: fail_data("corrupt PNG data: IHDR colour type {}", bytes[25]);
  }
  return info;
}

bool is_jpeg_sof_marker(uint8_t marker) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

ImageInfo probe_jpeg(const uint8_t* bytes, size_t size) {
  // Walk the marker segments after SOI until the frame header (SOFn).
  size_t pos = 2;
  for (;;) {
    // Garbage before a marker is skipped, as libjpeg does (with a warning; PIL kept such files).
    while (pos < size && bytes[pos] != 0xFF) ++pos;
    while (pos < size && bytes[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= size) fail_truncated_header(ImageFormat::jpeg);
    uint8_t marker = bytes[pos++];
    if (marker == 0x00) continue;  // a stuffed 0xFF 0x00 is data, not a marker: more garbage
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9 || marker == 0xDA)
      fail_data("corrupt JPEG data: no frame header (SOF) before {}",
                marker == 0xDA ? "the image data" : "the end of image");
    if (pos + 2 > size) fail_truncated_header(ImageFormat::jpeg);
    size_t length = read_be16(bytes + pos);  // includes the two length bytes
    if (length < 2) fail_data("corrupt JPEG data: marker 0x{:02x} has length {}", marker, length);
    if (is_jpeg_sof_marker(marker)) {
      // length(2) precision(1) height(2) width(2) components(1)
      if (pos + 8 > size) fail_truncated_header(ImageFormat::jpeg);
      ImageInfo info;
      info.format = ImageFormat::jpeg;
      info.height = read_be16(bytes + pos + 3);
      info.width = read_be16(bytes + pos + 5);
      info.channels_in_file = bytes[pos + 7];
      if (info.width == 0 || info.height == 0)
        fail_data("corrupt JPEG data: frame header size {}x{}", info.width, info.height);
      return info;
    }
    pos += length;
  }
}

ImageInfo probe_gif(const uint8_t* bytes, size_t size) {
  // "GIF8?a" logical screen width(2, LE) height(2, LE)
  if (size < 10) fail_truncated_header(ImageFormat::gif);
  ImageInfo info;
  info.format = ImageFormat::gif;
  info.width = read_le16(bytes + 6);
  info.height = read_le16(bytes + 8);
  info.channels_in_file = 3;  // palette
  if (info.width == 0 || info.height == 0)
    fail_data("corrupt GIF data: screen size {}x{}", info.width, info.height);
  return info;
}

ImageInfo probe_bmp(const uint8_t* bytes, size_t size) {
  // "BM" file size(4) reserved(4) data offset(4) | info header size(4) ...
  if (size < 18) fail_truncated_header(ImageFormat::bmp);
  uint32_t header_size = read_le32(bytes + 14);
  ImageInfo info;
  info.format = ImageFormat::bmp;
  int bits_per_pixel = 0;
  if (header_size == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit width and height
    if (size < 26) fail_truncated_header(ImageFormat::bmp);
    info.width = read_le16(bytes + 18);
    info.height = read_le16(bytes + 20);
    bits_per_pixel = static_cast<int>(read_le16(bytes + 24));
  } else if (header_size == 40 || header_size == 52 || header_size == 56 || header_size == 64 ||
             header_size == 108 || header_size == 124) {
    if (size < 30) fail_truncated_header(ImageFormat::bmp);
    info.width = static_cast<int32_t>(read_le32(bytes + 18));
    info.height = static_cast<int32_t>(read_le32(bytes + 22));
    if (info.height < 0) info.height = -info.height;  // negative height: rows top to bottom
    bits_per_pixel = static_cast<int>(read_le16(bytes + 28));
  } else {
    fail_data("corrupt BMP data: unknown info header size {}", header_size);
  }
  if (info.width <= 0 || info.height <= 0)
    fail_data("corrupt BMP data: size {}x{}", info.width, info.height);
  info.channels_in_file = bits_per_pixel == 32 ? 4 : 3;
  return info;
}

ImageInfo probe_pnm(const uint8_t* bytes, size_t size) {
  PnmHeader header;
  header.magic = static_cast<char>(bytes[1]);
  if (!parse_pnm_header(bytes, size, &header)) fail_truncated_header(ImageFormat::pnm);
  if (header.width == 0 || header.height == 0)
    fail_data("corrupt PNM data: size {}x{}", header.width, header.height);
  ImageInfo info;
  info.format = ImageFormat::pnm;
  info.width = header.width;
  info.height = header.height;
  info.channels_in_file = header.magic == '3' || header.magic == '6' ? 3 : 1;
  return info;
}

ImageInfo probe_tiff(const uint8_t* bytes, size_t size) {
  ImageInfo info;
  info.format = ImageFormat::tiff;
  info.width = find_tiff_ifd0_tag(bytes, size, 256);   // ImageWidth
  info.height = find_tiff_ifd0_tag(bytes, size, 257);  // ImageLength
  if (info.width < 0 || info.height < 0) fail_truncated_header(ImageFormat::tiff);
  int64_t samples = find_tiff_ifd0_tag(bytes, size, 277);  // SamplesPerPixel, default 1
  info.channels_in_file = samples > 0 ? static_cast<int>(samples) : 1;
  return info;
}

// TGA has no signature: accept only headers whose every field holds a legal value (the checks
// stb_image makes), and try it last.
bool looks_like_tga(const uint8_t* bytes, size_t size) {
  if (size < 18) return false;
  uint8_t colormap_type = bytes[1], image_type = bytes[2];
  if (colormap_type > 1) return false;
  bool colour_mapped = image_type == 1 || image_type == 9;
  bool true_colour_or_gray = image_type == 2 || image_type == 3 || image_type == 10 ||
                             image_type == 11;
  if (!colour_mapped && !true_colour_or_gray) return false;
  if (colour_mapped != (colormap_type == 1)) return false;
  if (colormap_type == 1) {
    uint8_t entry_bits = bytes[7];
    if (entry_bits != 8 && entry_bits != 15 && entry_bits != 16 && entry_bits != 24 &&
        entry_bits != 32)
      return false;
  }
  if (read_le16(bytes + 12) == 0 || read_le16(bytes + 14) == 0) return false;
  uint8_t bits = bytes[16];
  if (colour_mapped) return bits == 8 || bits == 16;
  return bits == 8 || bits == 15 || bits == 16 || bits == 24 || bits == 32;
}

ImageInfo probe_tga(const uint8_t* bytes) {
  ImageInfo info;
  info.format = ImageFormat::tga;
  info.width = read_le16(bytes + 12);
  info.height = read_le16(bytes + 14);
  uint8_t image_type = bytes[2];
  if (image_type == 3 || image_type == 11)
    info.channels_in_file = 1;
  else
    info.channels_in_file = bytes[16] == 32 ? 4 : 3;
  return info;
}

}  // namespace

ImageInfo probe_image(const uint8_t* bytes, size_t size) {
  static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes == nullptr || size == 0) fail_data("not an image (empty)");
  auto starts_with = [&](const void* magic, size_t n) {
    return size >= n && std::memcmp(bytes, magic, n) == 0;
  };
  // A file shorter than a signature it begins with was cut off.
  auto cut_signature = [&](const void* magic, size_t n) {
    return size < n && std::memcmp(bytes, magic, size) == 0;
  };
  if (cut_signature(png_signature, 8)) fail_truncated_header(ImageFormat::png);
  if (cut_signature("\xFF\xD8\xFF", 3)) fail_truncated_header(ImageFormat::jpeg);
  if (cut_signature("GIF87a", 6) || cut_signature("GIF89a", 6))
    fail_truncated_header(ImageFormat::gif);
  if (starts_with(png_signature, 8)) return probe_png(bytes, size);
  if (starts_with("\xFF\xD8\xFF", 3)) return probe_jpeg(bytes, size);
  if (starts_with("GIF87a", 6) || starts_with("GIF89a", 6)) return probe_gif(bytes, size);
  if (starts_with("BM", 2)) return probe_bmp(bytes, size);
  if (starts_with("II*\0", 4) || starts_with("MM\0*", 4)) return probe_tiff(bytes, size);
  if (size >= 3 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6' &&
      std::strchr(" \t\r\n", bytes[2]) != nullptr && bytes[2] != 0)
    return probe_pnm(bytes, size);
  if (looks_like_tga(bytes, size)) return probe_tga(bytes);
  fail_data("not an image (unrecognised signature; expected PNG, JPEG, BMP, GIF, TGA, PNM)");
}

void decode_image(const uint8_t* bytes, size_t size, const DecodeOptions& options, Image& out) {
  if (options.channels != 1 && options.channels != 3)
    fail_usage("image channels must be 1 (gray) or 3 (RGB), got {}", options.channels);
  ImageInfo info = probe_image(bytes, size);
  // Decompression bombs: refuse on the header's claim, before any decoder allocates.
  check_pixel_limit(info.width, info.height, options.max_pixels);
  switch (info.format) {
    case ImageFormat::jpeg: return decode_jpeg(bytes, size, info, options, out);
    case ImageFormat::png: return decode_png(bytes, size, info, options, out);
    case ImageFormat::bmp:
    case ImageFormat::gif:
    case ImageFormat::tga:
    case ImageFormat::pnm: return decode_with_stb(bytes, size, info, options, out);
    case ImageFormat::tiff:
      fail_data("TIFF images are not supported (convert them to PNG)");
    case ImageFormat::unknown: break;
  }
  fail_data("not an image");
}

Image decode_image(const uint8_t* bytes, size_t size, const DecodeOptions& options) {
  Image out;
  decode_image(bytes, size, options, out);
  return out;
}

Image read_image_file(const std::string& path, const DecodeOptions& options) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) fail_runtime("{}: cannot open: {}", path, std::strerror(errno));
  // Size the buffer from the file's length when it has one (one read), else grow (pipes).
  size_t capacity = 65536;
  if (std::fseek(file.get(), 0, SEEK_END) == 0) {
    long end = std::ftell(file.get());
    if (end >= 0) capacity = static_cast<size_t>(end) + 1;  // +1: the read that sees EOF
    std::fseek(file.get(), 0, SEEK_SET);
  }
  std::vector<uint8_t> bytes(capacity);
  size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    size_t n = std::fread(bytes.data() + used, 1, bytes.size() - used, file.get());
    used += n;
    if (n == 0) break;
  }
  bytes.resize(used);
  if (std::ferror(file.get())) fail_runtime("{}: read error: {}", path, std::strerror(errno));
  try {
    return decode_image(bytes.data(), bytes.size(), options);
  } catch (const Error& error) {
    throw Error(error.code(), fmt::format("{}: {}", path, error.what()));
  }
}

}  // namespace digits
