// The default sampler (issue 6): a Latin hypercube initial design (the random sampler's) for the
// first n_init trials, then Bayesian optimization (bo), handing over to NSGA-II (nsga2) from trial
// `handover` on. The phase depends on the trial number only, so workers and resumed studies agree
// on it. Settings: n_init (10), handover (300), and "bo" / "nsga2" objects passed on to those
// samplers.
//
// Where the GP stops paying for itself, measured (bench/bo_bench.cpp handover/<problem>/seeds:5;
// BENCHMARKS.md, "Bayesian optimization sampler"): hypervolume after 500 evaluations, median of
// seeds, hand-over at 100 / 200 / 300 / never (bo alone):
//   ZDT1  (5 seeds)  119.74 / 120.56 / 120.58 / 120.51   (optimum 120.67; nsga2 alone 111.13)
//   ZDT2  (5 seeds)  115.49 / 118.83 / 120.17 / 119.83   (nsga2 alone 94.96)
//   ZDT3  (5 seeds)  122.66 / 122.07 / 125.41 / 119.26   (nsga2 alone 117.16)
//   DTLZ2 (5 seeds)   26.03 /  26.21 /  26.08 /  25.74   (nsga2 alone 26.13)
// and bo's CPU per ask by trial window 0-100 / 100-200 / 200-500: 23 / 86 / ~170 ms on ZDT1, 51 /
// 144 / ~235 ms on DTLZ2 (its GP trains on at most 200 points), against ~0.05 ms for nsga2.
// Hand-over at 100 is worse than 300 everywhere. 200 wins on DTLZ2 by 0.5 %, but on ZDT2 (concave
// front) NSGA-II's small population loses the front's extent when it takes over early: two seeds
// of five end at 109 and 115 instead of ~120. 300 is the best on the ZDTs and within 0.5 % of the
// best on DTLZ2, so it stays the default; bo alone past 300 gains nothing and costs ~150-240 ms
// CPU per ask.
// (The real problem's comparison, "Search: the real problem", stops at 200 trials: all in bo.)
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
