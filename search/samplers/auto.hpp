// The default sampler (issue 6): a Latin hypercube initial design (the random sampler's) for the
// first n_init trials, then Bayesian optimization (bo), handing over to NSGA-II (nsga2) from trial
// `handover` on. The phase depends on the trial number only, so workers and resumed studies agree
// on it. Settings: n_init (10), handover (default: 100 when at most one objective is black-box
// and the others are known, as in compression; 300 otherwise), and "bo" / "nsga2" objects passed
// on to those samplers.
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
// That is for black-box objectives only. On the real compression problem (BENCHMARKS.md "Search:
// samplers on the real problem": the example model, accuracy black-box, latency and size known;
// 5 seeds, 200 trials) hand-over at 100 reaches 0.001500 median hypervolume at 200 trials against
// 0.001158 at 300 (= bo alone there): with one uncertain objective the GP has mapped the accuracy
// cliff by ~100 trials, and the front's extent in the known objectives is exact, so NSGA-II seeded
// with bo's front loses nothing and fills the front faster, at a tenth of bo's cost per ask.
// Hence the default depends on the problem: 100 when at most one objective is black-box and the
// rest are known, else 300. An explicit "handover" always wins.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "search/samplers/sampler.hpp"
#include "search/samplers/bo.hpp"
#include "search/samplers/nsga2.hpp"

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
