// The default sampler (issue 6): a Latin hypercube initial design (the random sampler's) for the
// first n_init trials, then Bayesian optimization (bo), handing over to NSGA-II (nsga2) from trial
// `handover` on. Past a few hundred trials the GP stops paying for itself: its fit grows as
// O(max_points^3) per proposal while the model is trained on a window of the history anyway, and
// NSGA-II — whose generations are rebuilt from all finished trials — keeps improving a dense
// front at microseconds per proposal. The phase depends on the trial number only, so workers and
// resumed studies agree on it. Settings: n_init (10), handover (300), and "bo" / "nsga2" objects
// passed on to those samplers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "search/sampler.hpp"
#include "search/samplers/bo.hpp"
#include "search/samplers/nsga2.hpp"

namespace autocompress {

class AutoSampler final : public Sampler {
 public:
  AutoSampler(std::unique_ptr<BoSampler> bo, std::unique_ptr<Sampler> nsga2, int64_t handover);
  std::string name() const override { return "auto"; }
  std::vector<Candidate> ask(const SamplerContext& ctx, size_t q) override;
  BoSampler& bo() { return *bo_; }

 private:
  std::unique_ptr<BoSampler> bo_;  // its own first n_init trials are the Latin hypercube
  std::unique_ptr<Sampler> nsga2_;
  int64_t handover_;
};

std::unique_ptr<Sampler> make_auto_sampler(uint64_t seed, const std::string& settings_json);

// Gives a sampler (bo, or auto for its bo phase) the prior mean of black-box objective
// `objective`; returns false when the sampler uses no prior (random, nsga2).
bool set_prior_mean(Sampler& sampler, size_t objective, PriorMean mean);

}  // namespace autocompress
