// NSGA-II's variation operators on the ordinal encoding (level i of L -> i / (L - 1)), injected
// into the sampler as strategies (Optuna composes its NSGAIISampler the same way).
// - sbx: simulated binary crossover (Deb, Agrawal 1995), bounded form as in Deb's NSGA-II code,
//   each variable crossed with probability 1/2, children rounded to the nearest level.
// - uniform: each knob from either parent with probability swap_prob (Optuna's default).
// - mutation: each free knob with probability `prob` moves by a polynomial step (Deb, Goyal 1996)
//   rounded to levels, at least one level, so a mutation never leaves the knob where it was.
// Frozen knobs are never changed (parents hold their fixed level, so children do too).
#pragma once

#include <functional>

#include "search/samplers/rng.hpp"
#include "search/samplers/space.hpp"

namespace autocompress {

using Crossover =
    std::function<Candidate(const SearchSpace&, const Candidate&, const Candidate&, Rng&)>;
using Mutation = std::function<void(const SearchSpace&, Candidate&, Rng&)>;

Crossover sbx_crossover(double eta);
Crossover uniform_crossover(double swap_prob);
// prob < 0: 1 / (number of knobs that can move).
Mutation polynomial_mutation(double prob, double eta);

}  // namespace autocompress
