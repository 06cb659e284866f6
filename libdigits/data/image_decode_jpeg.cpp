// JPEG decoding with libjpeg-turbo's TurboJPEG API: gray, YCbCr and CMYK/YCCK JPEGs, optional
// DCT-domain downscaling, EXIF orientation.
#include <turbojpeg.h>

#include <cstring>
#include <string>

#include "core/error.h"
#include "data/image_internal.h"

namespace digits::image_detail {

namespace {

// One decompressor per thread, reused: creating one allocates libjpeg's state every time.
// After a failure it is replaced: libjpeg-turbo 2.1 leaves a handle whose header read failed
// in a state that breaks the next image.
struct ThreadDecompressor {
  tjhandle handle = nullptr;
  ~ThreadDecompressor() { reset(); }
  void reset() {
    if (handle != nullptr) tjDestroy(handle);
    handle = nullptr;
  }
};
thread_local ThreadDecompressor thread_decompressor_slot;

tjhandle thread_decompressor() {
  if (thread_decompressor_slot.handle == nullptr) thread_decompressor_slot.handle = tjInitDecompress();
  if (thread_decompressor_slot.handle == nullptr)
    fail_runtime("cannot initialise libjpeg-turbo: {}", tjGetErrorStr2(nullptr));
  return thread_decompressor_slot.handle;
}

// Scratch for conversions (CMYK -> RGB, RGB -> gray), kept per thread so that steady-state
// ingestion touches no fresh pages; released when an unusually large image grew it.
std::vector<uint8_t>& thread_scratch() {
  thread_local std::vector<uint8_t> scratch;
  return scratch;
}
void release_scratch_if_huge() {
  auto& scratch = thread_scratch();
  if (scratch.capacity() > (size_t{64} << 20)) std::vector<uint8_t>().swap(scratch);
}

// True when an EOI marker follows the last SOS marker: the entropy-coded data is complete.
// (0xFF 0xDA / 0xFF 0xD9 cannot occur inside entropy-coded data, which stuffs every 0xFF.)
bool has_eoi_after_last_sos(const uint8_t* bytes, size_t size) {
  size_t last_sos = 0;
  for (size_t i = size; i-- > 1;) {
    if (bytes[i - 1] == 0xFF && bytes[i] == 0xDA) {
      last_sos = i;
      break;
    }
  }
  if (last_sos == 0) return false;
  for (size_t i = last_sos + 1; i + 1 < size; ++i)
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xD9) return true;
  return false;
}

// The smallest DCT scaling factor among 1/2, 1/4, 1/8 whose output is still >= the target in
// both dimensions; 1/1 when there is no target or the image is less than twice the target.
// (libjpeg-turbo's other factors, 3/4, 5/8, ..., use plain-C IDCTs slower than a full decode.)
tjscalingfactor pick_scaling_factor(int width, int height, int64_t target_width,
                                    int64_t target_height) {
  tjscalingfactor best{1, 1};
  if (target_width <= 0 || target_height <= 0) return best;
  for (int denom : {2, 4, 8}) {
    tjscalingfactor factor{1, denom};
    if (TJSCALED(width, factor) < target_width || TJSCALED(height, factor) < target_height) break;
    best = factor;
  }
  return best;
}

// Throws for a failed TurboJPEG call, naming truncation when the data stops before the end of
// its last scan (or before any scan), and discards the handle.
[[noreturn]] void fail_jpeg(tjhandle handle, const uint8_t* bytes, size_t size) {
  const std::string message = tjGetErrorStr2(handle);
  thread_decompressor_slot.reset();
  if (message.rfind("Premature end", 0) == 0 || !has_eoi_after_last_sos(bytes, size))
    fail_data("truncated JPEG data: {}", message);
  fail_data("corrupt JPEG data: {}", message);
}

}  // namespace

void decode_jpeg(const uint8_t* bytes, size_t size, const ImageInfo& info,
                 const DecodeOptions& options, Image& out) {
  tjhandle handle = thread_decompressor();
  const auto jpeg_size = static_cast<unsigned long>(size);
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  // A warning while reading the header (extraneous bytes before a marker, ...) still gives the
  // header; libjpeg reads such files, and so did PIL.
  if (tjDecompressHeader3(handle, bytes, jpeg_size, &width, &height, &subsampling, &colorspace) !=
          0 &&
      (tjGetErrorCode(handle) != TJERR_WARNING || width <= 0 || height <= 0))
    fail_jpeg(handle, bytes, size);
  if (width != info.width || height != info.height)
    fail_data("corrupt JPEG data: frame header says {}x{}, decoder says {}x{}", info.width,
              info.height, width, height);
  check_pixel_limit(width, height, options.max_pixels);

  // The caller's target is for the upright image; orientations 5..8 swap the stored axes.
  const int orientation = jpeg_exif_orientation(bytes, size);
  int64_t target_width = options.target_width, target_height = options.target_height;
  if (orientation >= 5) std::swap(target_width, target_height);
  const tjscalingfactor factor = pick_scaling_factor(width, height, target_width, target_height);
  const int out_width = TJSCALED(width, factor), out_height = TJSCALED(height, factor);
  const int64_t pixel_count = int64_t{out_width} * out_height;

  // Decode straight into the result where libjpeg can produce the wanted layout (gray->gray,
  // gray->RGB, YCbCr->RGB); otherwise into scratch and convert with PIL's arithmetic
  // (YCbCr->RGB->luma, CMYK->RGB[->luma]), which is what DIGITS stored.
  const bool is_cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const bool is_gray = colorspace == TJCS_GRAY;
  // Rotated images are decoded into per-thread scratch, then turned upright into `out`.
  thread_local Image stored;
  Image& image = orientation > 1 ? stored : out;
  set_image_shape(image, out_width, out_height, options.channels);
  int pixel_format = TJPF_RGB, decoded_channels = 3;
  uint8_t* destination = image.pixels.data();
  if (is_cmyk) {
    pixel_format = TJPF_CMYK;
    decoded_channels = 4;
  } else if (is_gray && options.channels == 1) {
    pixel_format = TJPF_GRAY;
    decoded_channels = 1;
  }
  std::vector<uint8_t>& scratch = thread_scratch();
  if (decoded_channels != options.channels) {
    scratch.resize(static_cast<size_t>(pixel_count) * decoded_channels);
    destination = scratch.data();
  }
  // Exact IDCT and smooth upsampling (the libjpeg defaults PIL decodes with); refuse
  // progressive files with absurd scan counts (a known CPU exhaustion attack).
  const int flags = TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS;
  if (tjDecompress2(handle, bytes, jpeg_size, destination, out_width, 0, out_height, pixel_format,
                    flags) != 0) {
    // libjpeg recovers from damaged entropy data with a warning, and PIL (hence DIGITS) kept
    // such images; a file that ends early is what PIL refused ("image file is truncated").
    const bool warning_only = tjGetErrorCode(handle) == TJERR_WARNING;
    const std::string message = tjGetErrorStr2(handle);
    if (!warning_only || message.rfind("Premature end", 0) == 0 ||
        !has_eoi_after_last_sos(bytes, size))
      fail_jpeg(handle, bytes, size);
  }
  if (decoded_channels != options.channels) {
    if (is_cmyk && options.channels == 3) {
      cmyk_inverted_to_rgb(scratch.data(), image.pixels.data(), pixel_count);
    } else if (is_cmyk) {  // CMYK -> RGB -> luma, in place in scratch (RGB fits in CMYK's room)
      cmyk_inverted_to_rgb(scratch.data(), scratch.data(), pixel_count);
      convert_channels(scratch.data(), 3, image.pixels.data(), 1, pixel_count);
    } else {
      convert_channels(scratch.data(), decoded_channels, image.pixels.data(), options.channels,
                       pixel_count);
    }
    release_scratch_if_huge();
  }
  if (orientation > 1) {
    apply_orientation(stored, orientation, out);
    if (stored.pixels.capacity() > (size_t{64} << 20)) stored = Image();
  }
}

}  // namespace digits::image_detail
