// Seeded random numbers. Two kinds:
//  - Rng: a sequential generator (xoshiro256**) whose whole state is four words, so a snapshot
//    can save it and resume can restore it exactly.
//  - counter_uniform(): a stateless hash of (seed, counter), so a GPU kernel and the CPU produce
//    the same stream element by element (dropout masks).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

// counter_uniform and splitmix64 are also compiled for the GPU (kernels/dropout_kernels.cu), so
// both sides draw the same bits.
#if defined(__CUDACC__)
#define DIGITS_HOST_DEVICE __host__ __device__
#else
#define DIGITS_HOST_DEVICE
#endif

namespace digits {

DIGITS_HOST_DEVICE inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform float in [0, 1) from (seed, counter); identical on every backend.
DIGITS_HOST_DEVICE inline float counter_uniform(uint64_t seed, uint64_t counter) {
  uint64_t h = splitmix64(seed ^ splitmix64(counter));
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
}

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed = 0) { reseed(seed); }

  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : state_) {
      x = splitmix64(x);
      s = x;
    }
  }

  uint64_t next_u64() {
    uint64_t result = rotl(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  float uniform(float lo, float hi) { return lo + static_cast<float>(uniform()) * (hi - lo); }
  // Uniform integer in [0, n); n > 0.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>(uniform() * static_cast<double>(n)); }
  // Standard normal (Box-Muller; one draw of two uniforms per value keeps the state simple).
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  float normal(float mean, float stddev) { return mean + stddev * static_cast<float>(normal()); }

  const State& state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  State state_{};
};

}  // namespace digits
