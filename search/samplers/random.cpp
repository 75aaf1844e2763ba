#include "search/samplers/random.hpp"

#include <numeric>

#include "search/samplers/settings.hpp"

namespace autocompress {

namespace {

// Streams of the seed's generators that are not trial numbers (those are >= 0).
constexpr uint64_t kHypercubeStream = 0xA5A5'0000'0000'0000ULL;

int frozen_or(const Knob& k, int level) { return k.fixed >= 0 ? k.fixed : level; }

}  // namespace

Candidate uniform_candidate(const SearchSpace& space, Rng& rng) {
  Candidate c(space.size());
  for (size_t j = 0; j < space.size(); ++j) {
    const Knob& k = space.knobs[j];
    c[j] = frozen_or(k, static_cast<int>(rng.below(std::max<size_t>(k.levels.size(), 1))));
  }
  return c;
}

Candidate latin_hypercube_row(const SearchSpace& space, uint64_t seed, size_t n, size_t row,
                              Rng& jitter) {
  Candidate c(space.size());
  std::vector<size_t> perm(n);
  for (size_t j = 0; j < space.size(); ++j) {
    const Knob& k = space.knobs[j];
    Rng rng(seed, kHypercubeStream + j);  // knob j's permutation of the strata (Fisher-Yates)
    std::iota(perm.begin(), perm.end(), 0);
    for (size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
    const double u = (static_cast<double>(perm[row]) + jitter.uniform()) / static_cast<double>(n);
    const size_t levels = std::max<size_t>(k.levels.size(), 1);
    c[j] = frozen_or(k, static_cast<int>(std::min(levels - 1, static_cast<size_t>(u * levels))));
  }
  return c;
}

Candidate RandomSampler::propose(const SamplerContext& ctx, int64_t number,
                                 const TakenCandidates& taken) const {
  Rng rng(seed_, static_cast<uint64_t>(number));
  const auto& space = *ctx.space;
  const bool in_design = number >= 0 && static_cast<size_t>(number) < settings_.n_init;
  return first_allowed(ctx, taken, settings_.max_tries, [&](size_t attempt) {
    if (in_design && attempt == 0)
      return latin_hypercube_row(space, seed_, settings_.n_init, static_cast<size_t>(number), rng);
    return uniform_candidate(space, rng);
  });
}

std::vector<Candidate> RandomSampler::ask(const SamplerContext& ctx, size_t q) {
  auto taken = taken_candidates(ctx);
  std::vector<Candidate> out;
  for (size_t i = 0; i < q; ++i) {
    out.push_back(propose(ctx, ctx.next_number + static_cast<int64_t>(i), taken));
    taken.insert(out.back());
  }
  return out;
}

std::unique_ptr<Sampler> make_random_sampler(uint64_t seed, const std::string& settings_json) {
  SamplerSettings s("random", settings_json);
  RandomSettings r;
  r.n_init = static_cast<size_t>(s.integer("n_init", static_cast<int64_t>(r.n_init), 0, 1000000));
  r.max_tries =
      static_cast<size_t>(s.integer("max_tries", static_cast<int64_t>(r.max_tries), 1, 1000000));
  s.finish();
  return std::make_unique<RandomSampler>(seed, r);
}

}  // namespace autocompress
