// The study loop: storage ask -> sampler ask (context brought up to date from storage) -> evaluate
// -> tell, with heartbeats, warm-start baselines, a budget, `workers` candidates at once and clean
// interruption; `tell` for external evaluations. Reproducibility and interruption:
// docs/search.md, "The study loop".
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "search/samplers/sampler.hpp"
#include "search/study/problem.hpp"
#include "search/study/study_cache.hpp"
#include "search/study/study_options.hpp"
#include "storage/storage.hpp"

namespace autocompress {

// The uniform baselines, in order, that are legal in the space: int8 everywhere, bf16
// everywhere, 4-bit weights, 25% and 50% uniform pruning.
struct Baseline {
  std::string name;
  Candidate x;
};
std::vector<Baseline> warm_start_baselines(const CompressionSpace& s);
// The warm-start baseline x is, or "" (recorded as the trial's "baseline" attr, which
// uniform_policy and `pareto --verify` read: the pruning baselines leave groups that cannot be
// pruned at level 0, so their params alone do not read as one uniform setting).
std::string baseline_name(const CompressionSpace& s, const Candidate& x);

// Creates the study `options.name` for the problem (sampler, settings, seed and warm start
// recorded from `options`), or opens it when it exists and describes the same problem: model,
// objectives, constraints, search space and configuration (compared after parsing, so that a
// study recorded before a config key existed, which runs with that key's default, still opens),
// and with `compare_sampler` also sampler, its settings and seed (`search` resumes a study with
// its sampler; `serve` joins one from any proposer). UsageError naming the first difference.
Study open_study(Storage& storage, const CompressionProblem& problem, const StudyOptions& options,
                 bool compare_sampler);

// What a run has done so far, reported after every finished trial and once at the end (`final`).
// `study` is the study's summary (earlier runs and other workers included); the rest is this
// run's. The caller decides what to print.
struct StudyProgress {
  StudySummary study;  // counts (complete, pruned, failed, running), feasible front, hypervolume
  int64_t finished_in_run = 0;
  int64_t trials_budget = 0;    // StudyOptions::trials: finished trials to reach (0 = no limit)
  double timeout_s = 0;         // StudyOptions::timeout_s (0 = no limit)
  double elapsed_s = 0;         // since run() began
  double rate_per_min = 0;      // finished_in_run per minute of elapsed_s
  bool front_improved = false;  // the hypervolume grew since the previous report
  bool final = false;           // the last report of run()
  // A note about the trial just finished, e.g. "trial 12 not recorded: <why>"; empty if none.
  std::string event;

  int64_t finished() const { return study.complete + study.pruned + study.failed; }
};
// Called from the worker threads, one call at a time (the runner serializes them).
using ProgressCallback = std::function<void(const StudyProgress&)>;

class StudyRunner {
 public:
  // Creates the study (or loads it: then its recorded configuration must describe the same
  // problem; UsageError naming the first difference otherwise).
  StudyRunner(Storage& storage, const CompressionProblem& problem, StudyOptions options);
  ~StudyRunner();
  // Runs until the budget or request_stop(), reporting to on_progress (when set) after every
  // finished trial and at the end; returns the summary at the end.
  StudySummary run(const ProgressCallback& on_progress = {});
  // Thread-safe and async-signal-safe (sets an atomic flag).
  void request_stop() { stop_.store(true); }
  const Study& study() const { return study_; }

  // One step of the loop, also for `ask`: reserves a trial, proposes (a queued or warm-start
  // candidate first), records its params (tell_values records the recipe attr), returns the trial
  // number, recipe JSON and the current front.
  struct Asked {
    int64_t number = -1;
    Candidate x;
    std::string recipe_json;
    std::string baseline;  // the warm-start baseline's name when x is one (recorded as attr)
    // The study's front as the proposal saw it (CompressionProblem::front_points), for early
    // stopping against the front.
    std::vector<FrontPoint> front;
  };
  Asked ask_one();

 private:
  Asked ask_locked();                 // ask_one under propose_mu
  Candidate propose(int64_t number);  // from the cache as ask_locked refreshed it
  bool proposed_elsewhere(const Candidate& x);
  void worker_loop(int threads);
  bool budget_left();  // under propose_mu
  void report(bool final, std::string event);

  Storage& storage_;
  const CompressionProblem& problem_;
  StudyOptions opt_;
  Study study_;
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<StudyCache> cache_;  // used under propose_mu
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> started_in_run_{0};
  double t0_ = 0;
  double hypervolume_reported_ = 0;  // under print_mu
  ProgressCallback on_progress_;
  struct Shared;
  std::unique_ptr<Shared> shared_;
};

// Records an external measurement for `tell`: values in the study's objective order (accuracy
// as a fraction), constraints computed from them where the study knows how (accuracy_drop from
// the recorded original accuracy, cheap ones from the recipe). Like the search loop, it records
// the trial's exact recipe JSON in the user attr "recipe" (rebuilt from its params and the
// study's recorded config), so `export` and `pareto --export-dir` use it.
void tell_values(Storage& storage, const Study& study, int64_t number,
                 const std::vector<double>& values, const std::string& state = "COMPLETE");

}  // namespace autocompress
