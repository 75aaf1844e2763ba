// Bayesian optimization over the discrete space (issue 6), limbo's loop in small policies:
// fit (search/samplers/gp.hpp) -> acquisition (search/samplers/ehvi.hpp) -> inner optimizer -> propose.
//
// - Model: one GP per black-box objective (for compression only accuracy; latency, energy and size
//   come exactly from known_values and are never learnt, so they have zero variance). Inputs are
//   the encoded free knobs (frozen and one-level knobs dropped); one Matern-5/2 lengthscale per
//   knob type, MAP with dimension-scaled priors. The target goes through a rank-based Gaussian
//   copula (copula_warp: the cliff of collapsed accuracies does not dominate the fit); when a prior
//   mean is given (set_prior_mean: the additive sensitivity prior for accuracy), the GP models the
//   residual z - T(prior(x)) in the warped space, otherwise a constant mean.
//   PRUNED trials (early-stopped: they could not meet the accuracy constraint or reach the front)
//   enter the model at their partial estimate (Observation::partial), capped at the worst
//   COMPLETE value of each black-box objective (at that worst value when they have none); FAIL
//   trials are left out.
//   With more than max_points finished trials, the GP is trained on max_points of them: half by
//   non-dominated rank (the front and its neighbours, most recent first within a rank), the rest
//   the most recent others — O(max_points^3) per fit whatever the study's length.
// - Acquisition: expected hypervolume improvement over the observed feasible front at the study's
//   reference point, closed form when one objective is black-box; with several (fully black-box
//   problems such as ZDT, DTLZ2) conditional quasi-Monte-Carlo EHVI over per-objective independent
//   GPs (search/samplers/ehvi.hpp), mc_samples fixed quasi-random points.
// - Inner optimizer: an evolutionary search over the discrete space — uniform random candidates
//   and mutations of the front's members, then `generations` rounds mutating the best so far —
//   skipping candidates that cheap_constraints rules out and those already evaluated, pending or
//   proposed; about `candidates` acquisition evaluations per proposal.
// - Batches (q > 1) and pending trials: Kriging believer (Ginsbourger et al. 2010) — each pending
//   or already chosen candidate is added to the GPs at its predicted mean (no hyperparameter refit)
//   and to the front at its predicted values.
// - The first n_init trials (and any ask with fewer than 2 usable observations) come from the
//   random sampler's Latin hypercube. Everything is drawn from Rng(seed, trial number), so a
//   proposal is a deterministic function of (seed, context). ask() changes no state: concurrent
//   calls are safe (set_prior_mean is not, call it before the study starts).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search/samplers/sampler.hpp"
#include "search/samplers/random.hpp"

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
