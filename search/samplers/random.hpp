// Random search with a space-filling start: the first n_init trials follow a Latin hypercube over
// each knob's ordinal levels (McKay, Beckman, Conover 1979) — every knob's range is cut into n_init
// strata and each stratum is used once — then levels are drawn uniformly. The hypercube's
// permutations come from the seed alone and trial k takes row k, so workers asking concurrently
// and resumed studies get the same design. Frozen knobs stay at their level; a candidate that the
// cheap constraints rule out or that repeats a trial is redrawn (bounded).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "search/samplers/rng.hpp"
#include "search/samplers/sampler.hpp"

namespace autocompress {

struct RandomSettings {
  size_t n_init = 10;      // trials in the Latin hypercube design
  size_t max_tries = 100;  // draws per proposal before giving up on constraints/duplicates
};

class RandomSampler final : public Sampler {
 public:
  RandomSampler(uint64_t seed, RandomSettings settings) : seed_(seed), settings_(settings) {}
  std::string name() const override { return "random"; }
  std::vector<Candidate> ask(const SamplerContext& ctx, size_t q) override;
  // The proposal for trial `number`, avoiding `taken` when it can (also NSGA-II's first
  // generation).
  Candidate propose(const SamplerContext& ctx, int64_t number, const TakenCandidates& taken) const;

 private:
  uint64_t seed_;
  RandomSettings settings_;
};

// Every free knob at a uniformly drawn level, frozen knobs at theirs.
Candidate uniform_candidate(const SearchSpace& space, Rng& rng);
// Row `row` (< n) of the seed's Latin hypercube of n rows over the space's levels.
Candidate latin_hypercube_row(const SearchSpace& space, uint64_t seed, size_t n, size_t row,
                              Rng& jitter);

std::unique_ptr<Sampler> make_random_sampler(uint64_t seed, const std::string& settings_json);

}  // namespace autocompress
