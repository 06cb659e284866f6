// Resizing: PIL's bilinear resampling (Image.resize(size, BILINEAR), which DIGITS reached
// through scipy.misc.imresize) and DIGITS's four resize modes (digits/utils/image.py).
//
// The resampler reproduces Pillow's ImagingResample bit for bit: per-output-pixel triangle
// weights with the support widened by the shrink ratio (antialiasing), normalised, in 22-bit
// fixed point; a horizontal pass over the source rows the vertical pass needs, rounded to 8
// bits, then a vertical pass. Both passes run as one vectorised kernel over whole rows (the
// horizontal one on transposed pixels).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "core/error.h"
#include "data/image.h"

namespace digits {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

// For each output index: the first input index and how many inputs it reads, and that many
// fixed-point weights (stored with a stride of `taps`).
struct ResampleWeights {
  int64_t in_size = 0, out_size = 0;
  int64_t taps = 0;
  std::vector<int64_t> first, count;  // (out_size)
  std::vector<int32_t> weights;       // (out_size, taps)
};

ResampleWeights compute_bilinear_weights(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);  // widen the kernel only when shrinking
  const double support = 1.0 * filter_scale;         // the triangle filter's support is 1
  ResampleWeights r;
  r.in_size = in_size;
  r.out_size = out_size;
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

// The weights for (in_size, out_size) along `axis` (0 vertical, 1 horizontal), from a small
// per-thread cache: ingestion resizes images of a few source sizes to one target size, and
// computing the tables cost 1 to 4% of a resize. One cache per axis, so that looking up the second
// axis never replaces the entry the first returned.
const ResampleWeights& bilinear_weights(int64_t in_size, int64_t out_size, int axis) {
  constexpr size_t kCached = 8;
  struct Cache {
    std::vector<ResampleWeights> entries;
    size_t next = 0;  // the entry to replace next (round robin)
  };
  thread_local Cache caches[2];
  Cache& cache = caches[axis];
  for (const ResampleWeights& r : cache.entries)
    if (r.in_size == in_size && r.out_size == out_size) return r;
  if (cache.entries.size() < kCached) {
    cache.entries.push_back(compute_bilinear_weights(in_size, out_size));
    return cache.entries.back();
  }
  ResampleWeights& slot = cache.entries[cache.next];
  cache.next = (cache.next + 1) % kCached;
  slot = compute_bilinear_weights(in_size, out_size);
  return slot;
}

inline uint8_t clip8(int32_t sum) {
  int32_t v = sum >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// out (cols, rows) = in (rows, cols) for bytes, with row strides. 16x16 blocks go through SSE2
// registers (4 rounds of unpacks); the ragged edges are copied one byte at a time.
void transpose_bytes(const uint8_t* in, int64_t rows, int64_t cols, int64_t in_stride,
                     uint8_t* out, int64_t out_stride) {
  int64_t r0 = 0;
#if defined(__SSE2__)
  for (; r0 + 16 <= rows; r0 += 16) {
    int64_t c0 = 0;
    for (; c0 + 16 <= cols; c0 += 16) {
      const uint8_t* src = in + r0 * in_stride + c0;
      __m128i a[16], b[16];
      for (int i = 0; i < 16; ++i)
        a[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * in_stride));
      // Round 1: rows 2k, 2k+1 byte-interleaved; b[k] columns 0-7, b[8+k] columns 8-15.
      for (int k = 0; k < 8; ++k) {
        b[k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
        b[8 + k] = _mm_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
      }
      // Round 2: 4 rows per column; a[h*8 + 2q + {0,1}] holds columns h*8 + 4*{0,1} .. +3 of
      // rows 4q .. 4q+3.
      for (int h = 0; h < 2; ++h)
        for (int q = 0; q < 4; ++q) {
          a[h * 8 + 2 * q] = _mm_unpacklo_epi16(b[h * 8 + 2 * q], b[h * 8 + 2 * q + 1]);
          a[h * 8 + 2 * q + 1] = _mm_unpackhi_epi16(b[h * 8 + 2 * q], b[h * 8 + 2 * q + 1]);
        }
      // Round 3: 8 rows per column; b[g*4 + 2e + {0,1}] holds 2 columns each, rows 8e .. 8e+7,
      // column group g (4 columns: g*4 .. g*4+3).
      for (int g = 0; g < 4; ++g)
        for (int e = 0; e < 2; ++e) {
          const __m128i lo = a[(g / 2) * 8 + 4 * e + (g % 2)];
          const __m128i hi = a[(g / 2) * 8 + 4 * e + 2 + (g % 2)];
          b[g * 4 + 2 * e] = _mm_unpacklo_epi32(lo, hi);
          b[g * 4 + 2 * e + 1] = _mm_unpackhi_epi32(lo, hi);
        }
      // Round 4: all 16 rows of one column per register.
      uint8_t* dst = out + c0 * out_stride + r0;
      for (int g = 0; g < 4; ++g)
        for (int p = 0; p < 2; ++p) {
          const __m128i top = b[g * 4 + p], bottom = b[g * 4 + 2 + p];
          const int column = g * 4 + p * 2;
          _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + column * out_stride),
                           _mm_unpacklo_epi64(top, bottom));
          _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (column + 1) * out_stride),
                           _mm_unpackhi_epi64(top, bottom));
        }
    }
    for (int64_t c = c0; c < cols; ++c)
      for (int64_t r = r0; r < r0 + 16; ++r) out[c * out_stride + r] = in[r * in_stride + c];
  }
#endif
  for (int64_t r = r0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[c * out_stride + r] = in[r * in_stride + c];
}

#if defined(__x86_64__) && defined(__GNUC__)
#define DIGITS_RESAMPLE_AVX2 1
// Whether the AVX2 kernels run: where the CPU has AVX2, unless DIGITS_NO_SIMD=1 (which runs the
// portable code; the test that both give the same bytes uses it).
bool use_avx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2") && !std::getenv("DIGITS_NO_SIMD");
  return avx2;
}

// transpose_bytes with 32x16 blocks in AVX2 registers: rows i and i + 16 share a register (one
// per 128-bit lane), so the same 4 rounds of in-lane unpacks as the SSE2 version move twice the
// bytes, and each column of the block leaves as one 32-byte store. Half the shuffles and stores
// of the 16x16 blocks; transposes were a third of the horizontal pass with those.
__attribute__((target("avx2"))) void transpose_bytes_avx2(const uint8_t* in, int64_t rows,
                                                         int64_t cols, int64_t in_stride,
                                                         uint8_t* out, int64_t out_stride) {
  const int64_t block_rows = rows / 32 * 32, block_cols = cols / 16 * 16;
  for (int64_t r0 = 0; r0 < block_rows; r0 += 32) {
    for (int64_t c0 = 0; c0 < block_cols; c0 += 16) {
      const uint8_t* src = in + r0 * in_stride + c0;
      __m256i a[16], b[16];
      for (int i = 0; i < 16; ++i) {
        const __m128i top = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * in_stride));
        const __m128i bottom =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (i + 16) * in_stride));
        a[i] = _mm256_inserti128_si256(_mm256_castsi128_si256(top), bottom, 1);
      }
      // The rounds of transpose_bytes, per lane (see there).
      for (int k = 0; k < 8; ++k) {
        b[k] = _mm256_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
        b[8 + k] = _mm256_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
      }
      for (int h = 0; h < 2; ++h)
        for (int q = 0; q < 4; ++q) {
          a[h * 8 + 2 * q] = _mm256_unpacklo_epi16(b[h * 8 + 2 * q], b[h * 8 + 2 * q + 1]);
          a[h * 8 + 2 * q + 1] = _mm256_unpackhi_epi16(b[h * 8 + 2 * q], b[h * 8 + 2 * q + 1]);
        }
      for (int g = 0; g < 4; ++g)
        for (int e = 0; e < 2; ++e) {
          const __m256i lo = a[(g / 2) * 8 + 4 * e + (g % 2)];
          const __m256i hi = a[(g / 2) * 8 + 4 * e + 2 + (g % 2)];
          b[g * 4 + 2 * e] = _mm256_unpacklo_epi32(lo, hi);
          b[g * 4 + 2 * e + 1] = _mm256_unpackhi_epi32(lo, hi);
        }
      uint8_t* dst = out + c0 * out_stride + r0;
      for (int g = 0; g < 4; ++g)
        for (int p = 0; p < 2; ++p) {
          const __m256i top = b[g * 4 + p], bottom = b[g * 4 + 2 + p];
          const int column = g * 4 + p * 2;
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + column * out_stride),
                              _mm256_unpacklo_epi64(top, bottom));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (column + 1) * out_stride),
                              _mm256_unpackhi_epi64(top, bottom));
        }
    }
  }
  // The ragged edges: the columns right of the blocks, then the rows below them.
  transpose_bytes(in + block_cols, block_rows, cols - block_cols, in_stride,
                  out + block_cols * out_stride, out_stride);
  transpose_bytes(in + block_rows * in_stride, rows - block_rows, cols, in_stride, out + block_rows,
                  out_stride);
}
#endif

void transpose(const uint8_t* in, int64_t rows, int64_t cols, int64_t in_stride, uint8_t* out,
               int64_t out_stride) {
#if defined(DIGITS_RESAMPLE_AVX2)
  if (use_avx2()) return transpose_bytes_avx2(in, rows, cols, in_stride, out, out_stride);
#endif
  transpose_bytes(in, rows, cols, in_stride, out, out_stride);
}

// Resamples along the leading axis of a stack of lines: `in` holds lines of line_len bytes; out
// line o = sum over taps t of r.weights[o][t] * in line (r.first[o] - skip + t), in Pillow's fixed
// point (`skip`: the lines before `in` that r counts). Works on blocks of kBlock bytes of a line
// at a time, whose sums stay in vector registers across the taps. The portable version;
// resample_lines_avx2 below is the one x86 machines with AVX2 run.
void resample_lines_portable(const uint8_t* in, int64_t line_len, const ResampleWeights& r,
                             int64_t skip, int64_t out_count, uint8_t* out) {
  constexpr int64_t kBlock = 32;
  for (int64_t o = 0; o < out_count; ++o) {
    const int32_t* k = &r.weights[o * r.taps];
    const int64_t taps = r.count[o];
    const uint8_t* first_line = in + (r.first[o] - skip) * line_len;
    uint8_t* dst = out + o * line_len;
    int64_t i0 = 0;
    for (; i0 + kBlock <= line_len; i0 += kBlock) {
      int32_t sum[kBlock];
      for (int64_t j = 0; j < kBlock; ++j) sum[j] = 1 << (kPrecisionBits - 1);
      for (int64_t t = 0; t < taps; ++t) {
        const uint8_t* src = first_line + t * line_len + i0;
        const int32_t weight = k[t];
        for (int64_t j = 0; j < kBlock; ++j) sum[j] += src[j] * weight;
      }
      for (int64_t j = 0; j < kBlock; ++j) dst[i0 + j] = clip8(sum[j]);
    }
    for (int64_t i = i0; i < line_len; ++i) {
      int32_t sum = 1 << (kPrecisionBits - 1);
      for (int64_t t = 0; t < taps; ++t) sum += first_line[t * line_len + i] * k[t];
      dst[i] = clip8(sum);
    }
  }
}

#if defined(DIGITS_RESAMPLE_AVX2)
// The same sums with AVX2 intrinsics: each tap's 8 source bytes are zero-extended to 32 bits
// straight from memory (vpmovzxbd), multiplied by the broadcast weight and added, 32 bytes of a
// line per block in four registers; packing with signed then unsigned saturation is Pillow's
// clip to 0..255. Compiled for AVX2 whatever the build flags, and called only where the CPU has
// it (the compiler's own vectorisation of the portable loop took 1.5 to 2x as long here).
// Exact two-tap multiply-adds (vpmaddwd on int16 pixel pairs, weights split in 11-bit halves)
// were tried instead: interleaving the two taps' bytes into pairs cost more than the vpmulld
// they saved (25% slower on an AMD EPYC with AVX2).
__attribute__((target("avx2"))) inline __m256i widen(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
__attribute__((target("avx2"))) void resample_lines_avx2(const uint8_t* in, int64_t line_len,
                                                        const ResampleWeights& r, int64_t skip,
                                                        int64_t out_count, uint8_t* out) {
  const __m256i bias = _mm256_set1_epi32(1 << (kPrecisionBits - 1));
  const __m256i byte_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t o = 0; o < out_count; ++o) {
    const int32_t* k = &r.weights[o * r.taps];
    const int64_t taps = r.count[o];
    const uint8_t* first_line = in + (r.first[o] - skip) * line_len;
    uint8_t* dst = out + o * line_len;
    int64_t i0 = 0;
    for (; i0 + 32 <= line_len; i0 += 32) {
      __m256i s0 = bias, s1 = bias, s2 = bias, s3 = bias;
      const uint8_t* src = first_line + i0;
      for (int64_t t = 0; t < taps; ++t, src += line_len) {
        const __m256i w = _mm256_set1_epi32(k[t]);
        s0 = _mm256_add_epi32(s0, _mm256_mullo_epi32(widen(src), w));
        s1 = _mm256_add_epi32(s1, _mm256_mullo_epi32(widen(src + 8), w));
        s2 = _mm256_add_epi32(s2, _mm256_mullo_epi32(widen(src + 16), w));
        s3 = _mm256_add_epi32(s3, _mm256_mullo_epi32(widen(src + 24), w));
      }
      // packs per 128-bit lane: bytes (as dwords) s0[0:4] s1[0:4] s2[0:4] s3[0:4] | s0[4:8] ...
      const __m256i low = _mm256_packs_epi32(_mm256_srai_epi32(s0, kPrecisionBits),
                                             _mm256_srai_epi32(s1, kPrecisionBits));
      const __m256i high = _mm256_packs_epi32(_mm256_srai_epi32(s2, kPrecisionBits),
                                              _mm256_srai_epi32(s3, kPrecisionBits));
      const __m256i bytes =
          _mm256_permutevar8x32_epi32(_mm256_packus_epi16(low, high), byte_order);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i0), bytes);
    }
    for (int64_t i = i0; i < line_len; ++i) {
      int32_t sum = 1 << (kPrecisionBits - 1);
      for (int64_t t = 0; t < taps; ++t) sum += first_line[t * line_len + i] * k[t];
      dst[i] = clip8(sum);
    }
  }
}
#endif

void resample_lines(const uint8_t* in, int64_t line_len, const ResampleWeights& r, int64_t skip,
                    int64_t out_count, uint8_t* out) {
#if defined(DIGITS_RESAMPLE_AVX2)
  if (use_avx2()) return resample_lines_avx2(in, line_len, r, skip, out_count, out);
#endif
  resample_lines_portable(in, line_len, r, skip, out_count, out);
}

void check_size(int64_t width, int64_t height) {
  if (width < 1 || height < 1) fail_usage("resize: target size {}x{} must be positive", width, height);
}

// Python 2's round(): half away from zero (DIGITS ran on Python 2).
int64_t py2_round(double x) { return static_cast<int64_t>(std::round(x)); }

void set_shape(Image& out, int64_t width, int64_t height, int channels) {
  out.width = width;
  out.height = height;
  out.channels = channels;
  out.pixels.resize(static_cast<size_t>(width * height * channels));
}

// out = columns [start, start + width) of every row of `in`.
void crop_columns(const Image& in, int64_t start, int64_t width, Image& out) {
  set_shape(out, width, in.height, in.channels);
  const int64_t row = width * in.channels;
  for (int64_t y = 0; y < in.height; ++y)
    std::memcpy(&out.pixels[y * row], &in.pixels[(y * in.width + start) * in.channels], row);
}

// out = rows [start, start + height) of `in`.
void crop_rows(const Image& in, int64_t start, int64_t height, Image& out) {
  set_shape(out, in.width, height, in.channels);
  const int64_t row = in.width * in.channels;
  std::memcpy(out.pixels.data(), &in.pixels[start * row], height * row);
}

// memcpy that accepts n == 0 with null pointers (padding can be 0, its buffer never allocated).
void copy_bytes(uint8_t* dst, const uint8_t* src, int64_t n) {
  if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n));
}

// DIGITS: noise = randint(0, 255, shape) (values 0..254, drawn row-major over (rows, cols,
// channels)); concatenate((noise, image, noise)): the SAME block on both sides.
const std::vector<uint8_t>& draw_noise(int64_t count, Rng& rng) {
  thread_local std::vector<uint8_t> noise;
  noise.resize(static_cast<size_t>(count));
  for (auto& v : noise) v = static_cast<uint8_t>(rng.below(255));
  return noise;
}

// out = `padding` noise rows, `in`, the same noise rows.
void pad_rows_with_noise(const Image& in, int64_t padding, Rng& rng, Image& out) {
  const int64_t row = in.width * in.channels;
  const std::vector<uint8_t>& noise = draw_noise(padding * row, rng);
  set_shape(out, in.width, in.height + 2 * padding, in.channels);
  uint8_t* dst = out.pixels.data();
  copy_bytes(dst, noise.data(), noise.size());
  copy_bytes(dst + noise.size(), in.pixels.data(), in.pixels.size());
  copy_bytes(dst + noise.size() + in.pixels.size(), noise.data(), noise.size());
}

// out = per row: `padding` noise pixels, the row of `in`, the same noise pixels.
void pad_columns_with_noise(const Image& in, int64_t padding, Rng& rng, Image& out) {
  const int64_t pad_row = padding * in.channels, in_row = in.width * in.channels;
  const std::vector<uint8_t>& noise = draw_noise(in.height * pad_row, rng);  // (height, padding, C)
  set_shape(out, in.width + 2 * padding, in.height, in.channels);
  for (int64_t y = 0; y < in.height; ++y) {
    uint8_t* dst = &out.pixels[y * (in_row + 2 * pad_row)];
    copy_bytes(dst, noise.data() + y * pad_row, pad_row);
    copy_bytes(dst + pad_row, in.pixels.data() + y * in_row, in_row);
    copy_bytes(dst + pad_row + in_row, noise.data() + y * pad_row, pad_row);
  }
}

// Per-thread intermediates of resize_image (scaled, then cropped), reused between calls.
Image& scratch_image(int which) {
  thread_local Image images[2];
  return images[which];
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
  Image out;
  resample_bilinear(image, width, height, out);
  return out;
}

void resample_bilinear(const Image& image, int64_t width, int64_t height, Image& out) {
  check_size(width, height);
  DIGITS_CHECK(image.width > 0 && image.height > 0 &&
                   image.pixels.size() == static_cast<size_t>(image.width * image.height *
                                                              image.channels),
               "resample: malformed image {}x{}x{} with {} bytes", image.width, image.height,
               image.channels, image.pixels.size());
  const int channels = image.channels;
  DIGITS_CHECK(&image != &out, "resample: the output must not be the input");
  const bool need_horizontal = width != image.width, need_vertical = height != image.height;
  if (!need_horizontal && !need_vertical) {
    out = image;
    return;
  }
  set_shape(out, width, height, channels);
  const ResampleWeights& vertical = bilinear_weights(image.height, height, 0);
  // Per-thread buffers: steady-state ingestion touches no fresh pages.
  thread_local std::vector<uint8_t> transposed, resampled, between;
  const uint8_t* columns_in = image.pixels.data();
  int64_t row_begin = 0;  // the first source row in columns_in
  if (need_horizontal) {
    // Only the source rows some output row reads: [row_begin, row_end).
    int64_t row_end = image.height;
    if (need_vertical) {
      row_begin = vertical.first[0];
      row_end = vertical.first[height - 1] + vertical.count[height - 1];
    }
    const int64_t rows = row_end - row_begin;
    const int64_t in_row = image.width * channels, out_row = width * channels;
    // The horizontal pass runs as a vertical one on transposed bytes (byte column
    // x * channels + c becomes a line of row bytes; the `channels` lines of pixel x, side by
    // side, are one line of the kernel), so that it vectorises too. The integer sums are the
    // same, so the result is still Pillow's bit for bit. It goes in strips of kStrip rows, so
    // that both transposed copies of a strip stay in cache (whole-image transposes of a 640x480
    // photo missed it and took 40% of the resize).
    constexpr int64_t kStrip = 32;
    const ResampleWeights& horizontal = bilinear_weights(image.width, width, 1);
    transposed.resize(static_cast<size_t>(in_row * kStrip));
    resampled.resize(static_cast<size_t>(out_row * kStrip));
    uint8_t* destination = out.pixels.data();
    if (need_vertical) {
      between.resize(static_cast<size_t>(rows * out_row));
      destination = between.data();
    }
    for (int64_t r0 = 0; r0 < rows; r0 += kStrip) {
      const int64_t strip = std::min(kStrip, rows - r0);
      transpose(image.pixels.data() + (row_begin + r0) * in_row, strip, in_row, in_row,
                      transposed.data(), strip);
      resample_lines(transposed.data(), strip * channels, horizontal, 0, width, resampled.data());
      transpose(resampled.data(), out_row, strip, strip, destination + r0 * out_row, out_row);
    }
    if (!need_vertical) return;
    columns_in = between.data();
  }
  resample_lines(columns_in, width * channels, vertical, row_begin, height, out.pixels.data());
  for (auto* buffer : {&transposed, &resampled, &between})
    if (buffer->capacity() > (size_t{64} << 20)) std::vector<uint8_t>().swap(*buffer);
}

Image resize_image(const Image& image, int64_t width, int64_t height, ResizeMode mode, Rng& rng) {
  Image out;
  resize_image(image, width, height, mode, rng, out);
  return out;
}

void resize_image(const Image& image, int64_t width, int64_t height, ResizeMode mode, Rng& rng,
                  Image& out) {
  check_size(width, height);
  DIGITS_CHECK(&image != &out, "resize: the output must not be the input");
  if (image.width == width && image.height == height) {
    out = image;
    return;
  }
  const int64_t w = image.width, h = image.height;
  const double width_ratio = static_cast<double>(w) / static_cast<double>(width);
  const double height_ratio = static_cast<double>(h) / static_cast<double>(height);
  if (mode == ResizeMode::squash || width_ratio == height_ratio)
    return resample_bilinear(image, width, height, out);
  // "wide": relatively wider than the target (the width is cropped or the height padded).
  const bool wide = width_ratio > height_ratio;
  Image& scaled = scratch_image(0);

  if (mode == ResizeMode::crop) {
    // Scale by the smaller ratio (the image covers the target), centre-crop the long side.
    if (wide) {
      int64_t resize_width = std::max(py2_round(static_cast<double>(w) / height_ratio), width);
      resample_bilinear(image, resize_width, height, scaled);
      return crop_columns(scaled, py2_round(static_cast<double>(resize_width - width) / 2.0),
                          width, out);
    }
    int64_t resize_height = std::max(py2_round(static_cast<double>(h) / width_ratio), height);
    resample_bilinear(image, width, resize_height, scaled);
    return crop_rows(scaled, py2_round(static_cast<double>(resize_height - height) / 2.0), height,
                     out);
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
  resample_bilinear(image, resize_width, resize_height, scaled);
  const Image* to_pad = &scaled;
  if (mode == ResizeMode::half_crop) {
    DIGITS_CHECK(wide ? resize_width >= width : resize_height >= height,
                 "resize: half_crop scaled to {}x{} for a target of {}x{}", resize_width,
                 resize_height, width, height);
    Image& cropped = scratch_image(1);
    if (wide)
      crop_columns(scaled, py2_round(static_cast<double>(resize_width - width) / 2.0), width,
                   cropped);
    else
      crop_rows(scaled, py2_round(static_cast<double>(resize_height - height) / 2.0), height,
                cropped);
    to_pad = &cropped;
  }
  if (wide) {
    DIGITS_CHECK(resize_height <= height, "resize: {} rows for a target of {}", resize_height,
                 height);
    return pad_rows_with_noise(*to_pad, (height - resize_height) / 2, rng, out);
  }
  DIGITS_CHECK(resize_width <= width, "resize: {} columns for a target of {}", resize_width, width);
  return pad_columns_with_noise(*to_pad, (width - resize_width) / 2, rng, out);
}

}  // namespace digits
