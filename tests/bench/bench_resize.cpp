// bench-resize: time per call of resample_bilinear (data/image_resize.cpp) on the shapes that
// `digits-dataset create` meets most: photos of 200..640 pixels shrunk to 256x256 (built with
// everything, never installed).
//
//   bench-resize [ITERATIONS]     (default 2000)
//
// Prints one JSON line per shape and kernel:
//   {"kind": "resample", "kernel": "avx2"|"portable", "from": "640x480x3", "to": "256x256",
//    "us_per_call": ..., "horizontal_us_per_call": ...}
// "horizontal" is the same source resized to 256 columns and its own height (the horizontal
// pass alone, over every row). Each figure is the best of 5 blocks of ITERATIONS calls on random
// pixels, after one warm-up call (the per-thread buffers grow once). The kernel is chosen once
// per process (DIGITS_NO_SIMD=1 picks the portable one), so after timing the one this process
// runs, the program runs itself again with DIGITS_NO_SIMD=1 for the portable figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/rng.h"
#include "data/image.h"

using namespace digits;

namespace {

using Clock = std::chrono::steady_clock;

// Microseconds per call of resample_bilinear(in -> width x height): best of 5 blocks.
double us_per_call(const Image& in, int64_t width, int64_t height, int iterations) {
  Image out;
  resample_bilinear(in, width, height, out);
  double best = 1e30;
  for (int block = 0; block < 5; ++block) {
    const auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) resample_bilinear(in, width, height, out);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, seconds / iterations * 1e6);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2000;
  const bool portable = std::getenv("DIGITS_NO_SIMD") != nullptr;
  bool avx2 = false;
#if defined(__x86_64__) && defined(__GNUC__)
  avx2 = __builtin_cpu_supports("avx2");
#endif
  const char* kernel = avx2 && !portable ? "avx2" : "portable";
  struct Shape {
    int64_t width, height;
    int channels;
  };
  Rng rng(1);
  for (const Shape& s : {Shape{640, 480, 3}, Shape{400, 300, 3}, Shape{300, 400, 3},
                         Shape{200, 200, 3}, Shape{640, 480, 1}}) {
    Image in;
    in.width = s.width;
    in.height = s.height;
    in.channels = s.channels;
    in.pixels.resize(static_cast<size_t>(s.width * s.height * s.channels));
    for (auto& v : in.pixels) v = static_cast<uint8_t>(rng.below(256));
    const double whole = us_per_call(in, 256, 256, iterations);
    const double horizontal = us_per_call(in, 256, s.height, iterations);
    std::printf("{\"kind\": \"resample\", \"kernel\": \"%s\", \"from\": \"%ldx%ldx%d\", "
                "\"to\": \"256x256\", \"us_per_call\": %.1f, \"horizontal_us_per_call\": %.1f}\n",
                kernel, static_cast<long>(s.width), static_cast<long>(s.height), s.channels, whole,
                horizontal);
    std::fflush(stdout);
  }
  if (portable || !avx2) return 0;
  // The portable kernel: this program again, under DIGITS_NO_SIMD=1.
  setenv("DIGITS_NO_SIMD", "1", 1);
  const std::string command = "'" + std::string(argv[0]) + "' " + std::to_string(iterations);
  return std::system(command.c_str()) == 0 ? 0 : 1;
}
