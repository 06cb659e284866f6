// PNG decoding with libpng's classic API: every colour type and bit depth, interlaced or not.
//
// libpng reports errors by longjmp. The setjmp points are in small functions whose locals are
// all trivially destructible (pngread_header, pngread_rows), so a longjmp never skips a C++
// destructor; everything that owns memory lives in decode_png(), which they return to.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "data/image_internal.h"

namespace digits::image_detail {

namespace {

struct PngSource {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t position = 0;
  bool truncated = false;  // libpng asked for bytes past the end
  char message[256] = {};  // libpng's error message
};

void png_read_from_memory(png_structp png, png_bytep out, png_size_t count) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (count > source->size - source->position) {
    source->truncated = true;
    png_error(png, "unexpected end of data");
  }
  std::memcpy(out, source->data + source->position, count);
  source->position += count;
}

void png_record_error(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->message, sizeof(source->message), "%s", message);
  png_longjmp(png, 1);
}

void png_ignore_warning(png_structp, png_const_charp) {}

struct PngLayout {
  png_uint_32 width = 0, height = 0;
  int channels = 0;  // after the transforms below: 1, 2, 3 or 4 bytes per pixel
  size_t row_bytes = 0;
};

// Reads the header and sets up the transforms to 8-bit gray, gray+alpha, RGB or RGBA.
bool pngread_header(png_structp png, png_infop info, PngLayout* layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  int bit_depth = 0, color_type = 0;
  png_get_IHDR(png, info, &layout->width, &layout->height, &bit_depth, &color_type, nullptr,
               nullptr, nullptr);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_set_palette_to_rgb(png);
    // Transparency is applied for palette images only: PIL (hence DIGITS) composited "P"
    // images on white but kept gray and RGB images with a tRNS colour key as they were.
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  }
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (bit_depth == 16) png_set_strip_16(png);  // keep the high byte, as PIL does
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout->channels = png_get_channels(png, info);
  layout->row_bytes = png_get_rowbytes(png, info);
  return true;
}

bool pngread_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;  // chunks after the image data (and IEND) are not needed
}

struct PngReadStruct {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngReadStruct() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
};

[[noreturn]] void fail_png(const PngSource& source) {
  if (source.truncated) fail_data("truncated PNG data (file ends before the image data does)");
  fail_data("corrupt PNG data: {}", source.message);
}

}  // namespace

void decode_png(const uint8_t* bytes, size_t size, const ImageInfo& info,
                const DecodeOptions& options, Image& out) {
  PngSource source;
  source.data = bytes;
  source.size = size;
  PngReadStruct reader;
  reader.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_record_error,
                                      png_ignore_warning);
  if (reader.png == nullptr) fail_runtime("cannot initialise libpng");
  reader.info = png_create_info_struct(reader.png);
  if (reader.info == nullptr) fail_runtime("cannot initialise libpng");
  png_set_read_fn(reader.png, &source, png_read_from_memory);
  // Our own limit (checked by the caller on the probed size, and below on libpng's) replaces
  // libpng's default of 1,000,000 pixels per side.
  png_set_user_limits(reader.png, 0x7fffffff, 0x7fffffff);

  PngLayout layout;
  if (!pngread_header(reader.png, reader.info, &layout)) fail_png(source);
  if (layout.width != info.width || layout.height != info.height)
    fail_data("corrupt PNG data: size {}x{} changed to {}x{}", info.width, info.height,
              layout.width, layout.height);
  check_pixel_limit(layout.width, layout.height, options.max_pixels);
  DIGITS_CHECK(layout.row_bytes == size_t{layout.width} * layout.channels,
               "libpng row size {} for width {} x {} channels", layout.row_bytes, layout.width,
               layout.channels);

  const int64_t pixel_count = int64_t{layout.width} * layout.height;
  set_image_shape(out, layout.width, layout.height, options.channels);
  // Decode in place when the file already has the wanted channels, else into per-thread
  // scratch, then convert.
  thread_local std::vector<uint8_t> decoded;
  uint8_t* destination = out.pixels.data();
  if (layout.channels != options.channels) {
    decoded.resize(static_cast<size_t>(pixel_count) * layout.channels);
    destination = decoded.data();
  }
  std::vector<png_bytep> rows(layout.height);
  for (png_uint_32 y = 0; y < layout.height; ++y) rows[y] = destination + y * layout.row_bytes;
  if (!pngread_rows(reader.png, rows.data())) fail_png(source);
  if (layout.channels != options.channels) {
    convert_channels(decoded.data(), layout.channels, out.pixels.data(), options.channels,
                     pixel_count);
    if (decoded.capacity() > (size_t{64} << 20)) std::vector<uint8_t>().swap(decoded);
  }
}

}  // namespace digits::image_detail
