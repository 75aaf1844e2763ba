// The sampler interface of the search, in the spirit of Optuna's: a sampler proposes candidates
// from the history of a study; the study loop (search/study*) evaluates and records them.
//
// Every sampler works on an ordinal, discrete space (search/samplers/space.hpp): a candidate is one
// level index per knob. Samplers are deterministic functions of (their seed, the context): no
// global RNG, no clock. A resumed study rebuilds the context from storage, so it continues exactly.
//
// Objectives are either black-box (accuracy: expensive, learnt by a model) or known (latency,
// energy, size: computed exactly in microseconds by `known_values`). Samplers never learn the known
// ones and never propose a candidate that `cheap_constraints` rules out (value > 0), unless
// repair/rejection fails within a bounded number of tries (then the least violating is proposed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "search/moo/pareto.hpp"
#include "search/samplers/space.hpp"

namespace autocompress {

// A finished (or running: pending) evaluation, in the objective order of the context.
struct Observation {
  Candidate x;
  enum class State { kComplete, kPruned, kFail, kRunning } state = State::kComplete;
  std::vector<double> values;       // one per objective (empty unless kComplete)
  std::vector<double> constraints;  // one per constraint (may be empty), feasible when all <= 0
  int64_t number = -1;              // trial number, for ordering / generations
  // kPruned: the partial estimate recorded when the trial was stopped early (one per objective,
  // NaN where none; may be empty). Samplers that learn from pruned trials use it as how bad
  // they were.
  std::vector<double> partial;
};

struct SamplerContext {
  const SearchSpace* space = nullptr;
  std::vector<Sense> senses;   // one per objective
  std::vector<uint8_t> known;  // one per objective: 1 = computed exactly by known_values
  // Exact values of the known objectives (entries of black-box objectives are NaN).
  std::function<std::vector<double>(const Candidate&)> known_values;
  // Values of the constraints computable without evaluation (> 0 violates); may be empty.
  std::function<std::vector<double>(const Candidate&)> cheap_constraints;
  std::vector<double> reference_point;  // hypervolume reference, one per objective
  std::vector<Observation> history;     // finished trials, in trial-number order
  std::vector<Candidate> pending;       // candidates being evaluated right now
  int64_t next_number = 0;              // the trial number the first proposal will get
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::string name() const = 0;
  // Proposes q candidates (q >= 1) for trials next_number, next_number + 1, ...
  // Must return exactly q valid candidates (every index inside its knob's levels, frozen knobs at
  // their fixed level).
  virtual std::vector<Candidate> ask(const SamplerContext& ctx, size_t q) = 0;
};

// "random", "nsga2", "bo", "auto" with settings as JSON text (may be empty = defaults).
// Throws UsageError naming an unknown sampler or a bad setting.
std::unique_ptr<Sampler> make_sampler(const std::string& name, uint64_t seed,
                                      const std::string& settings_json = "");
// The names make_sampler knows, in registry order (the conformance suite runs every one).
std::vector<std::string> sampler_names();

// Helpers every sampler shares.
// Sum of the positive parts of the cheap constraints: 0 = allowed (also when there are none);
// NaN counts as +infinity.
double cheap_violation(const SamplerContext& ctx, const Candidate& c);
// Candidates already evaluated or being evaluated (and those proposed earlier in the same batch):
// proposals avoid repeating them when they can. Refers to the context's candidates without copying
// them, so the context must outlive it; hashed and sorted once, so building it for 5,000 trials
// costs tens of microseconds.
class TakenCandidates {
 public:
  explicit TakenCandidates(const SamplerContext& ctx);
  size_t count(const Candidate& c) const;  // 0 or 1, as std::set's
  void insert(const Candidate& c);

 private:
  std::vector<std::pair<uint64_t, const Candidate*>> sorted_;  // the context's, by hash
  std::vector<Candidate> added_;
};
TakenCandidates taken_candidates(const SamplerContext& ctx);
// Bounded rejection: calls draw(0), draw(1), ... up to max_tries times (at least once) and returns
// the first candidate that is allowed and not taken; failing that, in a space of at most 4,096
// candidates, one found by enumeration; failing that, the least violating one seen (untaken
// preferred among equals).
Candidate first_allowed(const SamplerContext& ctx, const TakenCandidates& taken, size_t max_tries,
                        const std::function<Candidate(size_t)>& draw);

}  // namespace autocompress
