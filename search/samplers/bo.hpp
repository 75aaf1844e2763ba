// Bayesian optimization over the discrete space, limbo's loop in small policies: fit GPs to the
// black-box objectives (search/samplers/gp.hpp) -> expected hypervolume improvement
// (search/samplers/ehvi.hpp) -> evolutionary inner optimizer -> propose; pending trials by the
// Kriging believer (Ginsbourger et al. 2010). Deterministic in (seed, context); ask() is
// thread-safe. The design: docs/search.md, "bo: Bayesian optimization".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search/samplers/random.hpp"
#include "search/samplers/sampler.hpp"

namespace autocompress {

struct BoSettings {
  size_t n_init = 10;       // Latin hypercube trials before the first GP
  size_t max_points = 200;  // GP training points (see above)
  int fit_evals = 60;       // likelihood evaluations per MAP fit (NLopt L-BFGS)
  size_t candidates = 800;  // acquisition evaluations per proposal (inner optimizer)
  size_t generations = 4;   // inner optimizer rounds after the initial population
  size_t mc_samples = 12;   // quasi-random points when several objectives are black-box
  size_t max_tries = 100;   // random draws when the inner search finds nothing allowed
};

// Prior mean of one black-box objective, in its own units (e.g. the original accuracy minus the
// additive sensitivity model's drop).
using PriorMean = std::function<double(const Candidate&)>;

class BoSampler final : public Sampler {
 public:
  BoSampler(uint64_t seed, BoSettings settings);
  std::string name() const override { return "bo"; }
  std::vector<Candidate> ask(const SamplerContext& ctx, size_t q) override;
  void set_prior_mean(size_t objective, PriorMean mean);

 private:
  uint64_t seed_;
  BoSettings settings_;
  RandomSampler initial_;
  std::vector<PriorMean> prior_;  // by objective index; empty function = none
};

std::unique_ptr<Sampler> make_bo_sampler(uint64_t seed, const std::string& settings_json);

}  // namespace autocompress
