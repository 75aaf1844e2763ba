// The samplers' random numbers: a small, portable generator (SplitMix64, Steele et al. 2014)
// derived from (seed, stream). Samplers take the stream from the trial number they propose for, so
// a proposal is a pure function of (seed, trial number, history) — never of global state, thread
// timing or how many proposals came before (resume and asynchronous workers depend on this).
// Own arithmetic instead of <random> distributions: the same numbers with every standard library.
#pragma once

#include <cstddef>
#include <cstdint>

namespace autocompress {

class Rng {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0) : state_(mix(seed) ^ mix(~stream + 0x9e37)) {}

  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n >= 1 (Lemire's multiply-shift; bias < n / 2^64).
  size_t below(size_t n) {
    return static_cast<size_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  bool chance(double p) { return uniform() < p; }

 private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

}  // namespace autocompress
