// Image decoding, resizing and encoding for dataset ingestion and inference.
//
// Decoders: libjpeg-turbo (TurboJPEG API) for JPEG, libpng for PNG, stb_image for BMP, GIF,
// TGA and PNM. The format is chosen by magic bytes, never by file extension. Every decoder
// checks the header's pixel count against DecodeOptions::max_pixels before it allocates.
// Errors in the input are digits::Error(ExitCode::data) with the reason.
//
// Implementation, one concern per file: image_probe.cpp (magic bytes, headers, dispatch),
// image_decode_jpeg.cpp, image_decode_png.cpp, image_decode_stb.cpp (one decoder each),
// image_convert.cpp (PIL's channel arithmetic), image_exif.cpp (EXIF orientation),
// image_resize.cpp (resampling and resize modes), image_encode.cpp (encoders, file writing);
// image_internal.h is private to them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace digits {

enum class ImageFormat { unknown, png, jpeg, bmp, gif, tga, pnm, tiff };
// "png", "jpeg", "bmp", "gif", "tga", "pnm", "tiff", "unknown".
const char* image_format_name(ImageFormat format);

struct ImageInfo {
  ImageFormat format = ImageFormat::unknown;
  int64_t width = 0, height = 0;  // as stored (before any EXIF orientation is applied)
  int channels_in_file = 0;       // 1 gray, 2 gray+alpha, 3 colour, 4 colour+alpha or CMYK
};

// Identifies the format by magic bytes and reads width/height from the header without
// decoding. Throws Error(data) "not an image" (unrecognised signature) or "truncated header".
// TIFF is recognised by its signature but decode_image() rejects it (no TIFF decoder).
ImageInfo probe_image(const uint8_t* bytes, size_t size);

// An allocator whose resize() leaves new bytes uninitialised: every image buffer is written
// whole (by a decoder, a resize, a copy) before it is read, and zero-filling a photo's worth of
// pixels first cost ~1.5% of dataset creation.
template <typename T>
struct UninitialisedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  UninitialisedAllocator() = default;
  template <typename U>
  UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;  // default-initialisation: no zeroing for bytes
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using PixelBuffer = std::vector<uint8_t, UninitialisedAllocator<uint8_t>>;

// 8-bit interleaved pixels, rows top to bottom, no row padding:
// pixels.size() == width * height * channels; channels 1 = gray, 3 = RGB.
struct Image {
  int64_t width = 0, height = 0;
  int channels = 0;
  PixelBuffer pixels;  // (height, width, channels)
};

struct DecodeOptions {
  int channels = 3;                   // 1 (gray) or 3 (RGB)
  int64_t max_pixels = 100'000'000;   // width * height in the header above this is refused
  // Optional hint: the caller will resize the result to about this size (0 = no hint). A JPEG at
  // least twice as large in both dimensions (after EXIF orientation) is then decoded with
  // libjpeg-turbo's DCT scaling by 1/2, 1/4 or 1/8, the smallest that keeps both dimensions
  // >= the target (only these three have SIMD IDCTs; 3/4, 5/8, ... are slower than a full
  // decode). The result is then NOT at full resolution; resize it afterwards.
  int64_t target_width = 0, target_height = 0;
};

// Decodes to options.channels with the bytes DIGITS (PIL) produced: alpha composited on white
// (PIL's paste with mask: (v*a + 255*(255-a)) / 255 rounded), gray replicated to colour, colour
// to gray by ITU-R 601-2 luma as PIL's convert("L") really computes it, in 16-bit fixed point
// with rounding: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 (its documented
// R*299/1000 + G*587/1000 + B*114/1000 truncates and differs by one in places), palette expanded
// (its tRNS alpha applied; a tRNS colour key on gray/RGB ignored, as PIL did), 16-bit reduced to
// the high byte, CMYK/YCCK JPEG converted to RGB (Adobe inverted CMYK, PIL's formula), EXIF
// orientation applied for JPEG (which DIGITS did not do). A JPEG whose data is damaged but
// complete decodes as libjpeg recovers it (PIL kept those too); one cut short is refused.
// Throws Error(data) with the reason: "truncated ...", "corrupt JPEG data: ...",
// "image 65500x65500 exceeds --max-pixels 100000000", "not an image ...".
Image decode_image(const uint8_t* bytes, size_t size, const DecodeOptions& options);
// The same, into `out`, reusing its pixel buffer: a loop that keeps one Image per thread does
// not allocate in steady state (touching fresh pages costs ~11 us each on these machines).
void decode_image(const uint8_t* bytes, size_t size, const DecodeOptions& options, Image& out);
// Reads the whole file and decodes it; every error message starts with the path.
// I/O failures are Error(runtime), bad content Error(data).
Image read_image_file(const std::string& path, const DecodeOptions& options);

// How resize_image() reaches the target size (DIGITS's digits/utils/image.py resize_image).
enum class ResizeMode { squash, crop, fill, half_crop };
// "squash", "crop", "fill", "half_crop" (also accepts "half-crop"); anything else is a usage
// error listing the choices.
ResizeMode parse_resize_mode(const std::string& name);
const char* resize_mode_name(ResizeMode mode);

// DIGITS's semantics, exactly:
//  squash    stretch to width x height.
//  crop      scale, keeping the aspect ratio, until the image covers the target; centre-crop the
//            excess of the long side.
//  fill      scale, keeping the aspect ratio, until the image fits inside (the padded side's
//            size made to differ from the target by an even number), pad both sides of the short
//            dimension with uniform random noise: one block of values 0..254 (numpy's
//            randint(0, 255), per pixel and channel, drawn row-major from rng) placed on BOTH
//            sides, as DIGITS's concatenate((noise, image, noise)) did.
//  half_crop scale by the mean of the two ratios, centre-crop the long side, noise-pad the
//            short side as fill does.
// Sizes are rounded as Python 2 did (half away from zero).
// An image already width x height is returned unchanged (rng untouched). Resampling is
// bilinear, antialiased when shrinking (PIL's BILINEAR filter, support scaled by the ratio).
// The result has the input's channel count.
Image resize_image(const Image& image, int64_t width, int64_t height, ResizeMode mode, Rng& rng);
// The same, into `out` (which must not be `image`), reusing its pixel buffer.
void resize_image(const Image& image, int64_t width, int64_t height, ResizeMode mode, Rng& rng,
                  Image& out);

// Bilinear (antialiased when shrinking) resample of the whole image to width x height, as PIL's
// Image.resize(size, Image.BILINEAR). The building block of resize_image().
Image resample_bilinear(const Image& image, int64_t width, int64_t height);
void resample_bilinear(const Image& image, int64_t width, int64_t height, Image& out);

// Encoders: 8-bit gray or RGB in, file bytes out. Throw Error(runtime) if the library fails.
std::vector<uint8_t> encode_png(const Image& image);
std::vector<uint8_t> encode_jpeg(const Image& image, int quality);  // quality 1..100, 4:2:0

// Writes PNG or JPEG chosen by the extension (.png, .jpg, .jpeg; case-insensitive; anything
// else is a usage error), atomically: written to a temporary name beside it, then renamed.
void write_image_file(const std::string& path, const Image& image, int jpeg_quality = 90);

}  // namespace digits
