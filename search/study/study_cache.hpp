// What the study loop knows about a study's trials: the sampler's context, the front that early
// stopping compares against and the progress summary, both from scratch (sampler_context,
// summarize: the reference) and incrementally (StudyCache: what the loop uses).
//
// Why incremental: the loop used to list and decode the whole study several times per trial,
// about 72 ms per trial at 5,000 trials (bench/study_bench.cpp). Finished trials (COMPLETE,
// PRUNED, FAIL) never change in storage (storage/storage.hpp), so StudyCache decodes each once and
// per refresh reads only the trials numbered past the last one it saw and those it saw RUNNING or
// WAITING (Storage::trials_since): other workers and processes may have finished them meanwhile.
// Fronts are kept as fronts: the non-dominated set of (front of A) + B is the one of A + B.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "search/samplers/sampler.hpp"
#include "search/study/problem.hpp"
#include "storage/storage.hpp"

namespace autocompress {

// Observations of the sampler from a study's trials (params decoded by the space; trials whose
// params do not decode are skipped).
SamplerContext sampler_context(const CompressionProblem& p, const std::vector<FrozenTrial>& trials);

struct StudySummary {
  int64_t complete = 0, pruned = 0, failed = 0, running = 0;
  size_t front_size = 0;     // feasible non-dominated COMPLETE trials
  double hypervolume = 0;    // of the feasible front w.r.t. the study's reference point
  std::vector<double> best;  // best value per objective among feasible COMPLETE trials (NaN: none)
};
StudySummary summarize(const Study& s, const std::vector<FrozenTrial>& trials);

// The incremental view. Not thread-safe (the runner uses it under its proposal mutex).
class StudyCache {
 public:
  // `p` must outlive the cache (the context's functions refer to it).
  StudyCache(const CompressionProblem& p, const Study& s);

  // Reads what may have changed since the last refresh; returns how many trials it read.
  size_t refresh(const Storage& storage);

  // As sampler_context(p, trials) of the study at the last refresh. The caller may set
  // next_number (the next refresh sets it back to the largest number + 1).
  SamplerContext& context() { return ctx_; }
  // As p.front_points(trials).
  const std::vector<FrontPoint>& front() const { return front_; }
  // As summarize(s, trials); the hypervolume is computed when the front changed.
  StudySummary summary() const;
  int64_t finished() const { return complete_ + pruned_ + failed_; }

 private:
  struct Unfinished {
    TrialState state;
    std::optional<Candidate> x;  // decoded params (none yet, or not decodable)
  };
  void add_finished(const std::vector<FrozenTrial>& fresh);
  void update_summary_front(const std::vector<FrozenTrial>& fresh);
  void update_front(std::vector<FrozenTrial> fresh);

  const CompressionProblem& p_;
  const Study s_;
  std::vector<Sense> senses_;
  SamplerContext ctx_;
  int64_t from_ = 0;                          // every trial below has been read
  std::map<int64_t, Unfinished> unfinished_;  // by number: read again by every refresh
  int64_t complete_ = 0, pruned_ = 0, failed_ = 0;
  std::vector<double> best_;
  // The summary's front (feasible COMPLETE values) in number order, and its hypervolume.
  std::vector<std::pair<int64_t, std::vector<double>>> summary_front_;
  mutable std::optional<double> hypervolume_;
  // The trials behind front_ (front_points keeps the non-dominated of them), in number order.
  std::vector<FrozenTrial> front_trials_;
  std::vector<FrontPoint> front_;
};

}  // namespace autocompress
