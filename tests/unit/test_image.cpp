// Image decode / resize / encode (data/image.h).
//
// Known answers come from three places: PIL itself (fixtures in tests/data/images made by
// make_fixtures.py with /usr/bin/python3 PIL: each image and the pixels PIL decodes it to, and
// PIL's bilinear resizes of a test photo), hand-computed values (PIL's arithmetic for alpha on
// white, luma, CMYK), and images built here with our encoders plus hand-written headers (EXIF
// segments, decompression bombs).
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "data/image.h"

using namespace digits;

namespace {

// tests/data/images next to this file, or $DIGITS_IMAGE_FIXTURES (tests/e2e/test_image_vs_pil.sh
// points it at freshly generated PIL output).
std::string fixture_dir() {
  if (const char* dir = std::getenv("DIGITS_IMAGE_FIXTURES")) return dir;
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "images")
      .string();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open fixture " << path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> fixture(const std::string& name) { return read_bytes(fixture_dir() + "/" + name); }

Image decode(const std::vector<uint8_t>& bytes, int channels = 3) {
  DecodeOptions options;
  options.channels = channels;
  return decode_image(bytes.data(), bytes.size(), options);
}

// Runs `f`, expects digits::Error with `code`, returns its message.
template <typename F>
std::string error_of(F&& f, ExitCode code = ExitCode::data) {
  try {
    f();
  } catch (const Error& e) {
    CHECK_MESSAGE(static_cast<int>(e.code()) == static_cast<int>(code), "message: " << e.what());
    return e.what();
  }
  FAIL_CHECK("expected an error, none was thrown");
  return "";
}

Image make_image(int64_t width, int64_t height, int channels, std::vector<uint8_t> pixels) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.assign(pixels.begin(), pixels.end());
  REQUIRE(image.pixels.size() == static_cast<size_t>(width * height * channels));
  return image;
}

// Smooth pattern plus hash noise: compresses like a photo (not too well).
Image noisy_image(int64_t width, int64_t height, int channels, uint64_t seed) {
  Image image = make_image(width, height, channels,
                           std::vector<uint8_t>(static_cast<size_t>(width * height * channels)));
  Rng rng(seed);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c)
        image.pixels[(y * width + x) * channels + c] =
            static_cast<uint8_t>((x * 3 + y * 2 + c * 70) % 200 + rng.below(56));
  return image;
}

uint8_t pixel(const Image& image, int64_t x, int64_t y, int c = 0) {
  return image.pixels[(y * image.width + x) * image.channels + c];
}

template <typename A, typename B>
double mean_abs_difference(const A& a, const B& b) {
  double total = 0;
  for (size_t i = 0; i < a.size(); ++i) total += std::abs(int(a[i]) - int(b[i]));
  return a.empty() ? 0.0 : total / static_cast<double>(a.size());
}

}  // namespace

// An image's bytes (PixelBuffer) against plain byte vectors, as the checks below write them;
// found by argument-dependent lookup (PixelBuffer's allocator is digits's).
namespace digits {
static bool operator==(const PixelBuffer& a, const std::vector<uint8_t>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}
}  // namespace digits

TEST_CASE("image: probe identifies formats by magic bytes and reads sizes") {
  struct Case {
    const char* file;
    ImageFormat format;
    int64_t width, height;
    int channels;
  };
  for (const Case& c : {Case{"rgb.png", ImageFormat::png, 5, 4, 3},
                        Case{"rgba.png", ImageFormat::png, 5, 4, 4},
                        Case{"gray_alpha.png", ImageFormat::png, 5, 4, 2},
                        Case{"gray16.png", ImageFormat::png, 5, 4, 1},
                        Case{"rgb.jpg", ImageFormat::jpeg, 16, 16, 3},
                        Case{"gray.jpg", ImageFormat::jpeg, 16, 16, 1},
                        Case{"cmyk.jpg", ImageFormat::jpeg, 16, 16, 4},
                        Case{"exif6.jpg", ImageFormat::jpeg, 24, 16, 3},  // as stored
                        Case{"rgb.bmp", ImageFormat::bmp, 5, 4, 3},
                        Case{"palette_trns.gif", ImageFormat::gif, 5, 4, 3},
                        Case{"rgb.tga", ImageFormat::tga, 5, 4, 3},
                        Case{"gray.tga", ImageFormat::tga, 5, 4, 1},
                        Case{"rgb.ppm", ImageFormat::pnm, 5, 4, 3},
                        Case{"gray.pgm", ImageFormat::pnm, 5, 4, 1}}) {
    CAPTURE(c.file);
    std::vector<uint8_t> bytes = fixture(c.file);
    ImageInfo info = probe_image(bytes.data(), bytes.size());
    CHECK(info.format == c.format);
    CHECK(info.width == c.width);
    CHECK(info.height == c.height);
    CHECK(info.channels_in_file == c.channels);
  }
  CHECK(std::string(image_format_name(ImageFormat::jpeg)) == "jpeg");
  CHECK(std::string(image_format_name(ImageFormat::unknown)) == "unknown");

  // TIFF is recognised (so the error can say what it is), not decoded.
  const uint8_t tiff[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,  //
                          0, 1, 3, 0, 1, 0, 0, 0, 7, 0, 0, 0,  // ImageWidth SHORT 7
                          1, 1, 4, 0, 1, 0, 0, 0, 9, 0, 0, 0,  // ImageLength LONG 9
                          0, 0, 0, 0};
  ImageInfo info = probe_image(tiff, sizeof(tiff));
  CHECK(info.format == ImageFormat::tiff);
  CHECK(info.width == 7);
  CHECK(info.height == 9);
  CHECK(error_of([&] { decode(std::vector<uint8_t>(tiff, tiff + sizeof(tiff))); })
            .find("TIFF") != std::string::npos);

  // The extension plays no part: the PNG fixture's bytes are a PNG whatever the name.
  const std::string text = "hello, this is not an image";
  CHECK(error_of([&] {
          probe_image(reinterpret_cast<const uint8_t*>(text.data()), text.size());
        }).find("not an image") != std::string::npos);
  CHECK(error_of([&] { probe_image(nullptr, 0); }).find("not an image") != std::string::npos);
  std::vector<uint8_t> png = fixture("rgb.png");
  CHECK(error_of([&] { probe_image(png.data(), 20); }).find("truncated header") != std::string::npos);
  std::vector<uint8_t> jpeg = fixture("rgb.jpg");
  CHECK(error_of([&] { probe_image(jpeg.data(), 4); }).find("truncated header") != std::string::npos);
  CHECK(error_of([&] { probe_image(reinterpret_cast<const uint8_t*>("GIF89a\x05"), 7); })
            .find("truncated header") != std::string::npos);
}

TEST_CASE("image: every format and colour conversion decodes to PIL's pixels") {
  // Each fixture and what DIGITS's PIL code made of it, as RGB (c3) and gray (c1).
  for (const char* name :
       {"rgb.png", "rgba.png", "gray.png", "gray_alpha.png", "bilevel.png", "palette_trns.png",
        "rgb16.png", "gray16.png", "gray2bit.png", "interlaced.png", "rgb.jpg",
        "rgb_progressive.jpg", "gray.jpg", "cmyk.jpg", "exif6.jpg", "rgb.bmp", "palette.bmp",
        "palette_trns.gif", "rgb.tga", "rgb_rle.tga", "gray.tga", "rgb.ppm", "gray.pgm"}) {
    std::vector<uint8_t> bytes = fixture(name);
    for (int channels : {3, 1}) {
      CAPTURE(name);
      CAPTURE(channels);
      Image image = decode(bytes, channels);
      std::vector<uint8_t> expected =
          fixture(std::string(name) + ".c" + std::to_string(channels) + ".raw");
      CHECK(image.channels == channels);
      REQUIRE(image.pixels.size() == expected.size());
      // Same libjpeg-turbo as PIL, same arithmetic: bit-exact.
      CHECK_MESSAGE(image.pixels == expected,
                    "mean abs difference " << mean_abs_difference(image.pixels, expected));
    }
  }
}

TEST_CASE("image: conversions follow PIL's arithmetic (hand-computed values)") {
  // rgba.png pixel 2 is (0, 0, 255) at alpha 128. On white, PIL's DIV255:
  // R = G = (0*128 + 255*127 + 128 + ((..) >> 8)) >> 8 = 127, B = 255; luma
  // (127*19595 + 127*38470 + 255*7471 + 0x8000) >> 16 = 142.
  Image rgba = decode(fixture("rgba.png"));
  CHECK(pixel(rgba, 2, 0, 0) == 127);
  CHECK(pixel(rgba, 2, 0, 1) == 127);
  CHECK(pixel(rgba, 2, 0, 2) == 255);
  CHECK(pixel(decode(fixture("rgba.png"), 1), 2, 0) == 142);
  // Pixel 1: alpha 0 -> white; pixel 0: alpha 255 -> unchanged red.
  CHECK(pixel(rgba, 1, 0, 0) == 255);
  CHECK(pixel(rgba, 1, 0, 1) == 255);
  CHECK(pixel(rgba, 0, 0, 0) == 255);
  CHECK(pixel(rgba, 0, 0, 1) == 0);
  // rgb.png pixel 6 is (0, 0, 5): PIL's rounded luma gives 1 (the truncating /1000 form, 0).
  CHECK(pixel(decode(fixture("rgb.png"), 1), 1, 1) == 1);
  // Gray replicated to colour.
  Image gray3 = decode(fixture("gray.png"), 3);
  Image gray1 = decode(fixture("gray.png"), 1);
  CHECK(pixel(gray3, 3, 2, 0) == pixel(gray1, 3, 2));
  CHECK(pixel(gray3, 3, 2, 2) == pixel(gray1, 3, 2));
  // 16-bit RGB keeps the high byte: rgb16.png pixel 5 is (10, 200, 33) * 256 + 0x5A.
  Image rgb16 = decode(fixture("rgb16.png"));
  CHECK(pixel(rgb16, 0, 1, 0) == 10);
  CHECK(pixel(rgb16, 0, 1, 1) == 200);
  CHECK(pixel(rgb16, 0, 1, 2) == 33);
  // 2-bit gray expands 0..3 to 0, 85, 170, 255.
  Image two_bit = decode(fixture("gray2bit.png"), 1);
  CHECK(pixel(two_bit, 0, 0) == 0);
  CHECK(pixel(two_bit, 1, 0) == 85);
  CHECK(pixel(two_bit, 2, 0) == 170);
  CHECK(pixel(two_bit, 3, 0) == 255);
  // CMYK blocks (inks, 0..255): (0,0,0,0) white, (255,0,0,0) cyan, (0,128,255,0) orange-ish,
  // (30,60,90,120): nk = 135, channel = nk - ink * nk / 255 = 119, 103, 87.
  Image cmyk = decode(fixture("cmyk.jpg"));
  auto near = [](int value, int expected) { return std::abs(value - expected) <= 2; };
  CHECK(near(pixel(cmyk, 4, 4, 0), 255));
  CHECK(near(pixel(cmyk, 4, 4, 2), 255));
  CHECK(near(pixel(cmyk, 12, 4, 0), 0));
  CHECK(near(pixel(cmyk, 12, 4, 1), 255));
  CHECK(near(pixel(cmyk, 4, 12, 0), 255));
  CHECK(near(pixel(cmyk, 4, 12, 1), 127));
  CHECK(near(pixel(cmyk, 4, 12, 2), 0));
  CHECK(near(pixel(cmyk, 12, 12, 0), 119));
  CHECK(near(pixel(cmyk, 12, 12, 1), 103));
  CHECK(near(pixel(cmyk, 12, 12, 2), 87));
  // Channel counts other than 1 and 3 are a usage error.
  DecodeOptions four;
  four.channels = 4;
  std::vector<uint8_t> png = fixture("rgb.png");
  error_of([&] { decode_image(png.data(), png.size(), four); }, ExitCode::usage);
}

namespace {

// An APP1 segment holding a TIFF IFD0 with one Orientation entry.
std::vector<uint8_t> exif_segment(int orientation, bool big_endian) {
  auto u16 = [&](std::vector<uint8_t>& v, int x) {
    if (big_endian) {
      v.push_back(static_cast<uint8_t>(x >> 8));
      v.push_back(static_cast<uint8_t>(x));
    } else {
      v.push_back(static_cast<uint8_t>(x));
      v.push_back(static_cast<uint8_t>(x >> 8));
    }
  };
  auto u32 = [&](std::vector<uint8_t>& v, int x) {
    if (big_endian) {
      u16(v, x >> 16);
      u16(v, x & 0xFFFF);
    } else {
      u16(v, x & 0xFFFF);
      u16(v, x >> 16);
    }
  };
  std::vector<uint8_t> tiff = {static_cast<uint8_t>(big_endian ? 'M' : 'I'),
                               static_cast<uint8_t>(big_endian ? 'M' : 'I')};
  u16(tiff, 42);
  u32(tiff, 8);            // IFD0 offset
  u16(tiff, 1);            // one entry
  u16(tiff, 0x0112);       // Orientation
  u16(tiff, 3);            // SHORT
  u32(tiff, 1);            // count
  u16(tiff, orientation);  // value, then 2 bytes of padding
  u16(tiff, 0);
  u32(tiff, 0);  // no next IFD
  std::vector<uint8_t> segment = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  for (uint8_t byte : tiff) segment.push_back(byte);  // (insert() trips a GCC 12 false warning)
  size_t length = segment.size() - 2;
  segment[2] = static_cast<uint8_t>(length >> 8);
  segment[3] = static_cast<uint8_t>(length);
  return segment;
}

std::vector<uint8_t> with_segment_after_soi(std::vector<uint8_t> jpeg, const std::vector<uint8_t>& segment) {
  jpeg.insert(jpeg.begin() + 2, segment.begin(), segment.end());
  return jpeg;
}

// A gray image of 8x8 blocks; `rows` spell the blocks, letters a..f = levels 0, 50, .., 250.
Image block_image(const std::vector<std::string>& rows) {
  const int64_t height = static_cast<int64_t>(rows.size()) * 8;
  const int64_t width = static_cast<int64_t>(rows[0].size()) * 8;
  Image image = make_image(width, height, 3, std::vector<uint8_t>(width * height * 3));
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        image.pixels[(y * width + x) * 3 + c] =
            static_cast<uint8_t>((rows[y / 8][x / 8] - 'a') * 50);
  return image;
}

}  // namespace

TEST_CASE("image: EXIF orientation, all 8, both byte orders") {
  // Upright: 2 x 3 blocks [a b; c d; e f]. Each case stores the image so that applying its
  // orientation turns it back upright (worked out by hand from the EXIF definitions).
  const std::vector<std::vector<std::string>> stored = {
      {},
      {"ab", "cd", "ef"},  // 1 as is
      {"ba", "dc", "fe"},  // 2 mirrored
      {"fe", "dc", "ba"},  // 3 rotated 180
      {"ef", "cd", "ab"},  // 4 flipped
      {"ace", "bdf"},      // 5 transposed
      {"bdf", "ace"},      // 6 needs 90 clockwise
      {"fdb", "eca"},      // 7 transversed
      {"eca", "fdb"},      // 8 needs 90 counter-clockwise
  };
  const std::string upright = "abcdef";
  for (int orientation = 1; orientation <= 8; ++orientation) {
    for (bool big_endian : {false, true}) {
      CAPTURE(orientation);
      CAPTURE(big_endian);
      std::vector<uint8_t> jpeg = with_segment_after_soi(
          encode_jpeg(block_image(stored[orientation]), 95), exif_segment(orientation, big_endian));
      for (int channels : {3, 1}) {
        Image image = decode(jpeg, channels);
        REQUIRE(image.width == 16);
        REQUIRE(image.height == 24);
        for (int block = 0; block < 6; ++block) {
          int expected = (upright[block] - 'a') * 50;
          int value = pixel(image, (block % 2) * 8 + 4, (block / 2) * 8 + 4);
          CHECK_MESSAGE(std::abs(value - expected) <= 3,
                        "block " << block << " is " << value << ", expected " << expected);
        }
      }
    }
  }
  // A malformed EXIF block (IFD offset past its end) is ignored, the image still decodes.
  std::vector<uint8_t> broken = exif_segment(6, false);
  broken[14] = 0xF0;  // IFD0 offset low byte (little-endian) -> far outside
  Image image = decode(with_segment_after_soi(encode_jpeg(block_image({"ab", "cd", "ef"}), 95), broken));
  CHECK(image.width == 16);
  CHECK(image.height == 24);
}

TEST_CASE("image: decompression bombs are refused from the header") {
  // PNG claiming 65500x65500 (the IHDR is all there is; a decoder would fail differently).
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13,
                              'I', 'H', 'D', 'R', 0, 0, 0xFF, 0xDC, 0, 0, 0xFF, 0xDC,
                              8, 2, 0, 0, 0, 0, 0, 0, 0};
  CHECK(error_of([&] { decode(png); }) == "image 65500x65500 exceeds --max-pixels 100000000");
  // JPEG: SOI, SOF0 with 65500x65500 and three components.
  std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xFF, 0xDC, 0xFF, 0xDC, 3,
                               1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1};
  CHECK(error_of([&] { decode(jpeg); }) == "image 65500x65500 exceeds --max-pixels 100000000");
  std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a', 0xDC, 0xFF, 0xDC, 0xFF, 0x80, 0, 0};
  CHECK(error_of([&] { decode(gif); }).find("exceeds --max-pixels") != std::string::npos);
  std::vector<uint8_t> pnm = {'P', '6', '\n', '9', '9', '9', '9', '9', ' ', '9', '9', '9',
                              '9', '9', '\n', '2', '5', '5', '\n'};
  CHECK(error_of([&] { decode(pnm); }) == "image 99999x99999 exceeds --max-pixels 100000000");
  // The limit is the caller's: a real 16x16 JPEG against --max-pixels 255.
  DecodeOptions small;
  small.max_pixels = 255;
  std::vector<uint8_t> real = fixture("rgb.jpg");
  CHECK(error_of([&] { decode_image(real.data(), real.size(), small); }) ==
        "image 16x16 exceeds --max-pixels 255");
  small.max_pixels = 256;
  CHECK(decode_image(real.data(), real.size(), small).width == 16);
}

TEST_CASE("image: truncated and corrupt files are Error(data), never a crash") {
  // Large enough that 90% cuts into the pixel data.
  const Image noisy = noisy_image(64, 48, 3, 7);
  std::vector<std::pair<std::string, std::vector<uint8_t>>> files = {
      {"png", encode_png(noisy)},
      {"jpeg", encode_jpeg(noisy, 90)},
      {"gray png", encode_png(noisy_image(64, 48, 1, 8))},
      {"progressive jpeg", fixture("rgb_progressive.jpg")},
      {"interlaced png", fixture("interlaced.png")},
      {"bmp", fixture("rgb.bmp")},
      {"gif", fixture("palette_trns.gif")},
      {"ppm", fixture("rgb.ppm")},
  };
  for (const auto& [name, bytes] : files) {
    CAPTURE(name);
    for (double fraction : {0.1, 0.5, 0.9}) {
      CAPTURE(fraction);
      size_t size = static_cast<size_t>(static_cast<double>(bytes.size()) * fraction);
      std::string message = error_of([&] { decode_image(bytes.data(), size, DecodeOptions{}); });
      CHECK_MESSAGE(message.find("truncated") != std::string::npos, message);
    }
  }
  // Every cut and every single-byte corruption of small files: success or Error(data) only.
  for (const char* name : {"rgb.png", "palette_trns.png", "gray_alpha.png", "rgb.jpg", "cmyk.jpg",
                           "exif6.jpg", "rgb_progressive.jpg", "rgb.bmp", "palette.bmp",
                           "palette_trns.gif", "rgb.tga", "rgb_rle.tga", "rgb.ppm"}) {
    CAPTURE(name);
    const std::vector<uint8_t> bytes = fixture(name);
    int errors = 0;
    for (size_t size = 0; size < bytes.size(); ++size) {
      try {
        decode_image(bytes.data(), size, DecodeOptions{});
      } catch (const Error& e) {
        REQUIRE_MESSAGE(e.code() == ExitCode::data, e.what());
        ++errors;
      }
    }
    CHECK(errors > 0);
    for (size_t at = 0; at < bytes.size(); ++at) {
      std::vector<uint8_t> corrupt = bytes;
      corrupt[at] ^= 0xA5;
      try {
        decode_image(corrupt.data(), corrupt.size(), DecodeOptions{});
      } catch (const Error& e) {
        REQUIRE_MESSAGE(e.code() == ExitCode::data, e.what());
      }
    }
  }
  // Specific messages.
  std::vector<uint8_t> jpeg = encode_jpeg(noisy, 90);
  CHECK(error_of([&] { decode_image(jpeg.data(), jpeg.size() / 2, DecodeOptions{}); })
            .find("truncated JPEG data") != std::string::npos);
  std::vector<uint8_t> bad_tables = jpeg;
  for (size_t i = 0; i + 1 < bad_tables.size(); ++i) {  // break the first DHT's class/id byte
    if (bad_tables[i] == 0xFF && bad_tables[i + 1] == 0xC4) {
      bad_tables[i + 4] = 0x7F;
      break;
    }
  }
  CHECK(error_of([&] { decode(bad_tables); }).find("corrupt JPEG data") != std::string::npos);
  std::vector<uint8_t> png = encode_png(noisy);
  png[33 + 8 + 2] ^= 0xFF;  // inside the first IDAT's zlib stream: bad data or bad CRC
  CHECK(error_of([&] { decode(png); }).find("corrupt PNG data") != std::string::npos);
}

TEST_CASE("image: JPEGs with garbage between segments decode, as libjpeg and PIL read them") {
  const Image image = noisy_image(32, 24, 3, 30);
  const std::vector<uint8_t> clean = encode_jpeg(image, 90);
  const Image expected = decode(clean);
  auto marker_at = [&](uint8_t marker) {
    for (size_t i = 2; i + 1 < clean.size(); ++i)
      if (clean[i] == 0xFF && clean[i + 1] == marker) return i;
    FAIL("no marker 0x" << std::hex << int(marker));
    return size_t{0};
  };
  // Before a table segment (the header: libjpeg warns, TurboJPEG's header call returns -1),
  // before the scan, and between the data and EOI; with EXIF orientation 3 ahead of the garbage.
  for (size_t at : {marker_at(0xDB), marker_at(0xDA), clean.size() - 2}) {
    CAPTURE(at);
    std::vector<uint8_t> bytes = clean;
    const uint8_t garbage[] = {0x12, 0xFF, 0x00, 0x34};
    bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), garbage, garbage + 4);
    Image decoded = decode(bytes);
    CHECK(decoded.pixels == expected.pixels);
    Image rotated = decode(with_segment_after_soi(bytes, exif_segment(3, false)));
    CHECK(pixel(rotated, 0, 0, 1) == pixel(expected, 31, 23, 1));
  }
}

TEST_CASE("image: DCT-scaled JPEG decoding for a target size") {
  const Image big = noisy_image(256, 192, 3, 3);
  const std::vector<uint8_t> jpeg = encode_jpeg(big, 90);
  DecodeOptions options;
  options.target_width = 64;
  options.target_height = 48;
  Image quarter = decode_image(jpeg.data(), jpeg.size(), options);
  CHECK(quarter.width == 64);  // 1/4 exactly
  CHECK(quarter.height == 48);
  options.target_width = 100;
  options.target_height = 90;
  Image scaled = decode_image(jpeg.data(), jpeg.size(), options);
  CHECK(scaled.width == 128);  // 1/2: 1/4 would give 64x48, below the target
  CHECK(scaled.height == 96);
  options.target_height = 100;  // 1/2 gives 96 rows < 100; 5/8 (slow, plain C) is never used
  Image unscaled = decode_image(jpeg.data(), jpeg.size(), options);
  CHECK(unscaled.width == 256);
  CHECK(unscaled.height == 192);
  options.target_width = 300;  // larger than the image: full size
  Image full = decode_image(jpeg.data(), jpeg.size(), options);
  CHECK(full.width == 256);
  CHECK(full.height == 192);
  // The scaled decode resembles the full one shrunk (same content, not garbage).
  Rng rng(1);
  Image shrunk = resize_image(full, 64, 48, ResizeMode::squash, rng);
  CHECK(mean_abs_difference(shrunk.pixels, quarter.pixels) < 6.0);
  // With EXIF orientation 6 the target is for the upright (portrait) image: the stored
  // 256x192 shrinks to 64x48 and shows as 48x64.
  std::vector<uint8_t> rotated = with_segment_after_soi(jpeg, exif_segment(6, true));
  options.target_width = 48;
  options.target_height = 64;
  Image portrait = decode_image(rotated.data(), rotated.size(), options);
  CHECK(portrait.width == 48);
  CHECK(portrait.height == 64);
}

TEST_CASE("image: resize matches PIL's bilinear resize (and DIGITS's crop)") {
  // Fixtures: PIL's Image.resize(BILINEAR) of photo.png, shrinking, enlarging and mixed.
  const Image photo = read_image_file(fixture_dir() + "/photo.png", DecodeOptions{});
  DecodeOptions gray_options;
  gray_options.channels = 1;
  const Image photo_gray = read_image_file(fixture_dir() + "/photo_gray.png", gray_options);
  for (auto [width, height] : std::vector<std::pair<int, int>>{
           {32, 32}, {70, 55}, {80, 20}, {7, 5}, {61, 20}, {20, 47}}) {
    for (const Image* image : {&photo, &photo_gray}) {
      CAPTURE(width);
      CAPTURE(height);
      CAPTURE(image->channels);
      Rng rng(0);
      Image resized = resize_image(*image, width, height, ResizeMode::squash, rng);
      CHECK(resized.width == width);
      CHECK(resized.height == height);
      std::vector<uint8_t> expected = fixture(
          fmt::format("photo_{}_{}_squash.c{}.raw", width, height, image->channels));
      REQUIRE(resized.pixels.size() == expected.size());
      // We reproduce Pillow's fixed-point resampler, so expect exact equality; the issue's
      // bound (mean abs difference < 1 grey level) is what it must never exceed.
      double difference = mean_abs_difference(resized.pixels, expected);
      CHECK_MESSAGE(resized.pixels == expected, "mean abs difference " << difference);
      CHECK(difference < 1.0);
    }
  }
  for (auto [width, height] : std::vector<std::pair<int, int>>{{32, 32}, {24, 40}}) {
    CAPTURE(width);
    CAPTURE(height);
    Rng rng(0);
    Image resized = resize_image(photo, width, height, ResizeMode::crop, rng);
    std::vector<uint8_t> expected = fixture(fmt::format("photo_{}_{}_crop.c3.raw", width, height));
    CHECK(resized.pixels == expected);
  }
}

namespace {

// Pillow's ImagingResample for 8-bit images, written plainly (one output byte at a time, 64-bit
// sums): per-output triangle weights widened by the shrink ratio, normalised, rounded to 22-bit
// fixed point; the horizontal pass rounded to bytes, then the vertical pass.
std::vector<uint8_t> plain_pillow_resample(const Image& in, int64_t width, int64_t height) {
  struct Axis {
    std::vector<int64_t> first, count;
    std::vector<std::vector<int64_t>> weights;
  };
  const auto axis = [](int64_t in_size, int64_t out_size) {
    const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
    const double support = std::max(scale, 1.0);
    Axis a;
    for (int64_t o = 0; o < out_size; ++o) {
      const double center = (static_cast<double>(o) + 0.5) * scale;
      const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
      const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size);
      std::vector<double> w;
      double total = 0;
      for (int64_t x = lo; x < hi; ++x) {
        const double t = std::fabs((static_cast<double>(x) - center + 0.5) / support);
        w.push_back(t < 1 ? 1 - t : 0);
        total += w.back();
      }
      std::vector<int64_t> fixed;
      for (double v : w)
        fixed.push_back(static_cast<int64_t>(0.5 + (total != 0 ? v / total : v) * (1 << 22)));
      a.first.push_back(lo);
      a.count.push_back(hi - lo);
      a.weights.push_back(fixed);
    }
    return a;
  };
  const auto clip = [](int64_t sum) {
    return static_cast<uint8_t>(std::clamp<int64_t>(sum >> 22, 0, 255));
  };
  const int64_t c = in.channels;
  std::vector<uint8_t> rows(in.pixels.begin(), in.pixels.end());  // (in.height, width, c) after the horizontal pass
  if (width != in.width) {
    const Axis h = axis(in.width, width);
    rows.assign(static_cast<size_t>(in.height * width * c), 0);
    for (int64_t y = 0; y < in.height; ++y)
      for (int64_t x = 0; x < width; ++x)
        for (int64_t k = 0; k < c; ++k) {
          int64_t sum = 1 << 21;
          for (int64_t t = 0; t < h.count[x]; ++t)
            sum += in.pixels[(y * in.width + h.first[x] + t) * c + k] * h.weights[x][t];
          rows[(y * width + x) * c + k] = clip(sum);
        }
  }
  if (height == in.height) return rows;
  const Axis v = axis(in.height, height);
  std::vector<uint8_t> out(static_cast<size_t>(height * width * c));
  for (int64_t y = 0; y < height; ++y)
    for (int64_t i = 0; i < width * c; ++i) {
      int64_t sum = 1 << 21;
      for (int64_t t = 0; t < v.count[y]; ++t)
        sum += rows[(v.first[y] + t) * width * c + i] * v.weights[y][t];
      out[y * width * c + i] = clip(sum);
    }
  return out;
}

}  // namespace

TEST_CASE("image: resample_bilinear equals a plain Pillow resampler on random images") {
  // The resampler's vector kernels (AVX2 where the CPU has it, portable under DIGITS_NO_SIMD=1,
  // which tests/e2e/test_dataset_resize_simd.sh compares) work on strips, blocks and transposes
  // with ragged edges: odd sizes, 1 to 4 channels, 1-pixel lines, shrinking and enlarging, and
  // pixels of only 0 and 255 (the sums nearest the clip) must all give Pillow's bytes.
  Rng rng(5);
  const auto check = [&](int64_t w, int64_t h, int channels, int64_t width, int64_t height,
                         bool extremes) {
    std::vector<uint8_t> pixels(static_cast<size_t>(w * h * channels));
    for (auto& p : pixels)
      p = extremes ? (rng.below(2) ? 255 : 0) : static_cast<uint8_t>(rng.below(256));
    const Image in = make_image(w, h, channels, pixels);
    const Image out = resample_bilinear(in, width, height);
    CHECK_MESSAGE(out.pixels == plain_pillow_resample(in, width, height),
                  w << "x" << h << "x" << channels << " -> " << width << "x" << height);
  };
  for (int channels : {1, 3, 4}) {
    check(640, 480, channels, 256, 256, false);
    check(300, 400, channels, 256, 256, false);
    check(1, 1, channels, 256, 256, false);
    check(1, 37, channels, 5, 300, false);
    check(37, 1, channels, 300, 1, true);
  }
  for (int i = 0; i < 300; ++i) {
    const int channels = 1 + static_cast<int>(rng.below(4));
    const int64_t w = 1 + rng.below(i % 3 ? 80 : 400), h = 1 + rng.below(i % 4 ? 80 : 300);
    const int64_t width = 1 + rng.below(i % 2 ? 200 : 60), height = 1 + rng.below(i % 5 ? 70 : 200);
    check(w, h, channels, width, height, i % 4 == 0);
  }
}

TEST_CASE("image: resize modes on known inputs") {
  // A 4x2 gray image whose columns are 10, 20, 30, 40.
  const Image columns = make_image(4, 2, 1, {10, 20, 30, 40, 10, 20, 30, 40});
  Rng rng(42);

  SUBCASE("unchanged at the target size, rng untouched") {
    Rng::State before = rng.state();
    for (ResizeMode mode : {ResizeMode::squash, ResizeMode::crop, ResizeMode::fill, ResizeMode::half_crop}) {
      Image same = resize_image(columns, 4, 2, mode, rng);
      CHECK(same.pixels == columns.pixels);
    }
    CHECK(rng.state() == before);
  }
  SUBCASE("crop: scale by the smaller ratio, centre crop") {
    // 4x2 -> 2x2: width ratio 2 > height ratio 1: scale to round(4/1) x 2 = 4x2 (no change),
    // crop columns from round((4-2)/2) = 1: values 20, 30.
    Image cropped = resize_image(columns, 2, 2, ResizeMode::crop, rng);
    CHECK(cropped.pixels == std::vector<uint8_t>{20, 30, 20, 30});
    // 3x6 gray (rows 0..5 = 0, 50, ..., 250) -> 3x2: height ratio 3 > width ratio 1:
    // 3 x round(6/1) = 3x6 unchanged, crop rows from round(4/2) = 2: values 100, 150.
    std::vector<uint8_t> rows_pixels;
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 3; ++x) rows_pixels.push_back(static_cast<uint8_t>(50 * y));
    Image cropped_rows = resize_image(make_image(3, 6, 1, rows_pixels), 3, 2, ResizeMode::crop, rng);
    CHECK(cropped_rows.pixels == std::vector<uint8_t>{100, 100, 100, 150, 150, 150});
    // Odd excess rounds half away from zero (Python 2): 5 wide -> 2: start round(1.5) = 2.
    Image five = make_image(5, 1, 1, {1, 2, 3, 4, 5});
    CHECK(resize_image(five, 2, 1, ResizeMode::crop, rng).pixels == std::vector<uint8_t>{3, 4});
  }
  SUBCASE("fill: scale by the larger ratio, the same noise block on both sides") {
    // 4x2 -> 4x4: width ratio 1 > height ratio 0.5: 4 x round(2/1) = 4x2 unchanged, pad 1 row
    // above and below with noise (values 0..254, as numpy randint(0, 255)).
    Image filled = resize_image(columns, 4, 4, ResizeMode::fill, rng);
    REQUIRE(filled.width == 4);
    REQUIRE(filled.height == 4);
    std::vector<uint8_t> top(filled.pixels.begin(), filled.pixels.begin() + 4);
    std::vector<uint8_t> bottom(filled.pixels.begin() + 12, filled.pixels.end());
    CHECK(top == bottom);
    CHECK(std::vector<uint8_t>(filled.pixels.begin() + 4, filled.pixels.begin() + 12) == columns.pixels);
    // Reproducible with the seed, different with another seed.
    Rng again(42), other(43);
    CHECK(resize_image(columns, 4, 4, ResizeMode::fill, again).pixels == filled.pixels);
    CHECK(resize_image(columns, 4, 4, ResizeMode::fill, other).pixels != filled.pixels);
    // Tall 1x4 colour -> 3x4: height ratio 1 > width ratio 1/3: round(1/1) = 1 column, padding
    // (3-1)/2 = 1 column either side, per pixel and channel.
    Image tall = make_image(1, 4, 3, std::vector<uint8_t>(12, 7));
    Image padded = resize_image(tall, 3, 4, ResizeMode::fill, rng);
    REQUIRE(padded.width == 3);
    REQUIRE(padded.height == 4);
    for (int64_t y = 0; y < 4; ++y)
      for (int c = 0; c < 3; ++c) {
        CHECK(pixel(padded, 1, y, c) == 7);
        CHECK(pixel(padded, 0, y, c) == pixel(padded, 2, y, c));
      }
    // Parity: 10x4 -> 5x5: 5 x round(4/2) = 5x2, 5 - 2 is odd so 5x3, padding 1.
    Image wide = noisy_image(10, 4, 1, 5);
    Image parity = resize_image(wide, 5, 5, ResizeMode::fill, rng);
    CHECK(parity.width == 5);
    CHECK(parity.height == 5);
    Rng dummy(0);
    Image middle = resize_image(wide, 5, 3, ResizeMode::squash, dummy);
    CHECK(std::vector<uint8_t>(parity.pixels.begin() + 5, parity.pixels.begin() + 20) == middle.pixels);
    // Noise statistics over a big pad: every value in 0..254 appears, 255 never.
    Image strip = make_image(2, 1, 1, {0, 0});
    Image noisy_pad = resize_image(strip, 200, 201, ResizeMode::fill, rng);
    std::vector<int> seen(256, 0);
    for (int64_t y = 0; y < 50; ++y)  // 2x1 -> 200x100 (+1 for parity), padding 50
      for (int64_t x = 0; x < 200; ++x) seen[pixel(noisy_pad, x, y)]++;
    CHECK(seen[255] == 0);
    int present = 0;
    for (int v = 0; v < 255; ++v) present += seen[v] > 0;
    CHECK(present == 255);
  }
  SUBCASE("half_crop: scale by the mean ratio, crop the long side, pad the short one") {
    // 8x4 -> 4x4: ratios 2 and 1, mean 1.5: round(8/1.5) x round(4/1.5) = 5x3; 4 - 3 is odd so
    // 5x4; crop columns from round(0.5) = 1; no padding.
    Image eight = noisy_image(8, 4, 3, 9);
    Image half = resize_image(eight, 4, 4, ResizeMode::half_crop, rng);
    CHECK(half.width == 4);
    CHECK(half.height == 4);
    Rng dummy(0);
    Image scaled = resize_image(eight, 5, 4, ResizeMode::squash, dummy);
    for (int64_t y = 0; y < 4; ++y)
      for (int64_t x = 0; x < 4; ++x) CHECK(pixel(half, x, y, 1) == pixel(scaled, x + 1, y, 1));
    // Tall 4x8 -> 4x4: ratios 1 and 2, mean 1.5: round(2.67) x round(5.33) = 3x5; 4 - 3 is odd
    // so 4x5; crop rows from round(0.5) = 1; no padding columns.
    Image tall = noisy_image(4, 8, 3, 19);
    Image tall_half = resize_image(tall, 4, 4, ResizeMode::half_crop, rng);
    Image tall_scaled = resize_image(tall, 4, 5, ResizeMode::squash, dummy);
    CHECK(tall_half.pixels ==
          std::vector<uint8_t>(tall_scaled.pixels.begin() + 4 * 3, tall_scaled.pixels.end()));
    // 12x4 -> 4x4: ratios 3 and 1, mean 2: 6x2; crop columns from 1; pad 1 row each side.
    Image twelve = noisy_image(12, 4, 1, 10);
    Image padded = resize_image(twelve, 4, 4, ResizeMode::half_crop, rng);
    REQUIRE(padded.height == 4);
    Image scaled2 = resize_image(twelve, 6, 2, ResizeMode::squash, dummy);
    for (int64_t x = 0; x < 4; ++x) {
      CHECK(pixel(padded, x, 1) == pixel(scaled2, x + 1, 0));
      CHECK(pixel(padded, x, 2) == pixel(scaled2, x + 1, 1));
      CHECK(pixel(padded, x, 0) == pixel(padded, x, 3));
    }
  }
  SUBCASE("squash and equal ratios resample the whole image") {
    Image squashed = resize_image(columns, 8, 3, ResizeMode::squash, rng);
    CHECK(squashed.width == 8);
    CHECK(squashed.height == 3);
    // Same aspect ratio: every mode is a plain resample (no crop, no noise).
    Rng::State before = rng.state();
    Image doubled = resize_image(columns, 8, 4, ResizeMode::fill, rng);
    CHECK(rng.state() == before);
    Rng dummy(0);
    CHECK(doubled.pixels == resize_image(columns, 8, 4, ResizeMode::squash, dummy).pixels);
  }
  SUBCASE("a constant image stays constant at any size") {
    Image flat = make_image(37, 23, 3, std::vector<uint8_t>(37 * 23 * 3, 173));
    for (auto [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {5, 90}, {256, 256}, {36, 22}, {3, 23}}) {
      Image out = resample_bilinear(flat, w, h);
      CHECK(out.pixels == std::vector<uint8_t>(static_cast<size_t>(w * h * 3), 173));
    }
  }
  SUBCASE("mode names") {
    CHECK(parse_resize_mode("squash") == ResizeMode::squash);
    CHECK(parse_resize_mode("crop") == ResizeMode::crop);
    CHECK(parse_resize_mode("fill") == ResizeMode::fill);
    CHECK(parse_resize_mode("half_crop") == ResizeMode::half_crop);
    CHECK(parse_resize_mode("half-crop") == ResizeMode::half_crop);
    CHECK(std::string(resize_mode_name(ResizeMode::half_crop)) == "half_crop");
    std::string message = error_of([] { parse_resize_mode("stretch"); }, ExitCode::usage);
    CHECK(message == "unknown resize mode \"stretch\" (choices: squash, crop, fill, half_crop)");
    error_of([&] { resize_image(columns, 0, 5, ResizeMode::squash, rng); }, ExitCode::usage);
  }
}

TEST_CASE("image: the buffer-reusing overloads give the same results") {
  const std::vector<uint8_t> jpeg = encode_jpeg(noisy_image(40, 30, 3, 21), 90);
  const std::vector<uint8_t> rotated = with_segment_after_soi(jpeg, exif_segment(8, false));
  const std::vector<uint8_t> png = encode_png(noisy_image(40, 30, 3, 22));
  Image decoded = make_image(3, 3, 1, std::vector<uint8_t>(9, 1));  // stale shape and contents
  Image resized;
  for (int round = 0; round < 2; ++round) {
    for (const std::vector<uint8_t>* bytes : {&jpeg, &rotated, &png}) {
      for (int channels : {3, 1}) {
        DecodeOptions options;
        options.channels = channels;
        decode_image(bytes->data(), bytes->size(), options, decoded);
        Image expected = decode_image(bytes->data(), bytes->size(), options);
        CHECK(decoded.width == expected.width);
        CHECK(decoded.height == expected.height);
        CHECK(decoded.channels == channels);
        CHECK(decoded.pixels == expected.pixels);
        for (ResizeMode mode : {ResizeMode::squash, ResizeMode::crop, ResizeMode::fill,
                                ResizeMode::half_crop}) {
          Rng a(5), b(5);
          resize_image(decoded, 16, 20, mode, a, resized);
          Image value = resize_image(decoded, 16, 20, mode, b);
          CHECK(resized.width == 16);
          CHECK(resized.height == 20);
          CHECK(resized.pixels == value.pixels);
          CHECK(a.state() == b.state());
        }
      }
    }
  }
  Rng rng(0);
  error_of([&] { resize_image(decoded, 8, 8, ResizeMode::squash, rng, decoded); }, ExitCode::runtime);
}

TEST_CASE("image: encoders round-trip and files are written atomically") {
  const Image colour = noisy_image(33, 17, 3, 11);
  const Image gray = noisy_image(33, 17, 1, 12);
  for (const Image* image : {&colour, &gray}) {
    CAPTURE(image->channels);
    // PNG is lossless.
    std::vector<uint8_t> png = encode_png(*image);
    CHECK(probe_image(png.data(), png.size()).format == ImageFormat::png);
    Image back = decode(png, image->channels);
    CHECK(back.width == 33);
    CHECK(back.height == 17);
    CHECK(back.pixels == image->pixels);
    // JPEG at quality 95 stays close on a smooth image (noise would be lost to 4:2:0 chroma).
    Image smooth = make_image(33, 17, image->channels, std::vector<uint8_t>(33 * 17 * image->channels));
    for (int64_t y = 0; y < 17; ++y)
      for (int64_t x = 0; x < 33; ++x)
        for (int c = 0; c < image->channels; ++c)
          smooth.pixels[(y * 33 + x) * image->channels + c] = static_cast<uint8_t>(x * 3 + y * 5 + c * 30);
    std::vector<uint8_t> jpeg = encode_jpeg(smooth, 95);
    ImageInfo info = probe_image(jpeg.data(), jpeg.size());
    CHECK(info.format == ImageFormat::jpeg);
    CHECK(info.channels_in_file == image->channels);
    Image lossy = decode(jpeg, image->channels);
    CHECK(mean_abs_difference(lossy.pixels, smooth.pixels) < 2.0);
    CHECK(encode_jpeg(smooth, 20).size() < jpeg.size());
  }
  error_of([&] { encode_jpeg(colour, 0); }, ExitCode::usage);
  Image two_channels = make_image(1, 1, 2, {1, 2});
  error_of([&] { encode_png(two_channels); }, ExitCode::usage);

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("digits-test-image-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string png_path = (dir / "out.PNG").string();
  write_image_file(png_path, colour);
  CHECK(read_image_file(png_path, DecodeOptions{}).pixels == colour.pixels);
  const std::string jpeg_path = (dir / "out.jpeg").string();
  write_image_file(jpeg_path, colour, 80);
  CHECK(read_image_file(jpeg_path, DecodeOptions{}).width == 33);
  write_image_file(jpeg_path, gray, 80);  // replaces the file
  DecodeOptions gray_options;
  gray_options.channels = 1;
  CHECK(mean_abs_difference(read_image_file(jpeg_path, gray_options).pixels, gray.pixels) < 8.0);
  std::string message = error_of([&] { write_image_file((dir / "out.gif").string(), colour); },
                                 ExitCode::usage);
  CHECK(message.find("out.gif") != std::string::npos);
  // Only the two finished files: no temporaries left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    CAPTURE(entry.path().string());
    CHECK((entry.path().filename() == "out.PNG" || entry.path().filename() == "out.jpeg"));
    ++files;
  }
  CHECK(files == 2);
  // Errors name the path: missing file (runtime), bad content (data).
  const std::string missing = (dir / "missing.png").string();
  CHECK(error_of([&] { read_image_file(missing, DecodeOptions{}); }, ExitCode::runtime)
            .rfind(missing + ": ", 0) == 0);
  const std::string junk = (dir / "junk.jpg").string();
  std::ofstream(junk) << "not really a jpeg";
  CHECK(error_of([&] { read_image_file(junk, DecodeOptions{}); }) ==
        junk + ": not an image (unrecognised signature; expected PNG, JPEG, BMP, GIF, TGA, PNM)");
  error_of([&] { write_image_file((dir / "no-such-dir" / "x.png").string(), colour); },
           ExitCode::runtime);
  std::filesystem::remove_all(dir);
}
