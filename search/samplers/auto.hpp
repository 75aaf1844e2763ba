// The default sampler: a Latin hypercube for the first n_init trials, then bo, handing over to
// nsga2 from trial `handover` on (default 100 when at most one objective is black-box and the
// others are known, 300 otherwise; the measurements behind it: docs/search.md, "auto"). The phase
// depends on the trial number only, so workers and resumed studies agree on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "search/samplers/bo.hpp"
#include "search/samplers/nsga2.hpp"
#include "search/samplers/sampler.hpp"

namespace autocompress {

class AutoSampler final : public Sampler {
 public:
  // handover < 0: by the problem (default_handover).
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

// The hand-over trial when none is set: 100 when the context has known objectives and at most one
// black-box objective, else 300 (measurements above).
int64_t default_handover(const SamplerContext& ctx);

// Gives a sampler (bo, or auto for its bo phase) the prior mean of black-box objective
// `objective`; returns false when the sampler uses no prior (random, nsga2).
bool set_prior_mean(Sampler& sampler, size_t objective, PriorMean mean);

}  // namespace autocompress
