// The compression problem: a model, its calibration and validation data, a target, the objectives
// (accuracy evaluated; latency, energy and size known exactly from the recipe) and constraints, and
// the evaluation of one candidate with early stopping (against the accuracy limit and the current
// front). The latency model, the paired accuracy drop and the early-stopping rules are explained
// in docs/search.md, "The compression problem".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "compressors/apply.hpp"
#include "compressors/recipe.hpp"
#include "data/data_spec.hpp"
#include "data/dataset.hpp"
#include "evaluator/executor.hpp"
#include "evaluator/metrics.hpp"  // PairedDrop
#include "hwmodels/profile.hpp"
#include "model/graph.hpp"
#include "search/samplers/sampler.hpp"
#include "search/study/objectives.hpp"
#include "search/study/problem_config.hpp"
#include "search/study/space_builder.hpp"
#include "storage/types.hpp"

namespace autocompress {

// "measured" or "roofline": what c.latency_model means on `target` (a profile name, "host" is
// this machine). Throws UsageError naming latency_model for "measured" on another target.
std::string resolved_latency_model(const ProblemConfig& c, const std::string& target);

// The search space of a config alone (loads the model; no data, no calibration): what
// CompressionProblem::space() is for the same config. For `tell`, which rebuilds an asked trial's
// recipe from its params without paying for the whole problem.
CompressionSpace problem_space(const ProblemConfig& config);

// The config a study made by `search` recorded (user attr "config", CompressionProblem::
// study_spec), or std::nullopt for a study made otherwise (ask / tell from outside).
std::optional<ProblemConfig> recorded_config(const Study& s);

// The ApplyOptions a study builds its candidates with: the target's channel multiple (at least
// 1) and the config's recover. What export records in a recipe so apply builds the same model.
ApplyOptions problem_apply_options(const ProblemConfig& c, const Profile& target);

// True when the candidate provably (lower bound mean - z * se) exceeds max_drop.
bool cannot_meet(const PairedDrop& d, double max_drop_points, double z);

// A point of the current feasible front as early stopping sees it: its values in the problem's
// objective order and its exact paired drop (points) on the whole validation set.
struct FrontPoint {
  int64_t number = -1;
  std::vector<double> values;
  double drop = 0;
};
// The first front point (index) that dominates a candidate for sure, or -1: every known objective
// (entries of `known` that are not NaN; the uncertain accuracy entry is NaN) at least as good as
// the candidate's, and a drop below the candidate's lower bound d.drop - z * d.se (see above).
int64_t dominated_for_sure(const PairedDrop& d, std::span<const double> known,
                           std::span<const Sense> sense, std::span<const FrontPoint> front,
                           double z);

// The outcome of one evaluation, ready for Storage::tell.
struct Evaluation {
  TrialResult result;  // state COMPLETE / PRUNED / FAIL, values, constraints, metrics
  std::string recipe_json;
};

// Knobs evaluated alone (sensitivity analysis): per knob and level, the accuracy drop.
struct SensitivityCurve {
  std::string knob;
  std::vector<KnobValue> levels;
  std::vector<double> drop;  // points, one per level (level 0: 0)
  std::vector<double> se;
};
nlohmann::json sensitivity_json(const std::vector<SensitivityCurve>& curves);
std::vector<SensitivityCurve> parse_sensitivity(const nlohmann::json& j);
// The additive prior mean of the accuracy drop (points) of a candidate: the sum over knobs of the
// curve at the candidate's level, linearly interpolated between measured levels (clamped at the
// ends); knobs without a curve contribute 0. For the bo sampler's prior.
double additive_drop_prior(const CompressionSpace& s, const std::vector<SensitivityCurve>& curves,
                           const Candidate& c);

// A data source of the problem as it was opened: its spec and the kind open_dataset detected.
struct ProblemData {
  DataSpec spec;
  std::string kind;  // "IDX directory", "class folders (10 classes, 500 images)", ...
};

class CompressionProblem {
 public:
  // Loads the model, target, data; evaluates the original once on the validation data.
  explicit CompressionProblem(const ProblemConfig& config);
  ~CompressionProblem();

  const ProblemConfig& config() const { return config_; }
  const CompressionSpace& space() const { return space_; }
  const Graph& model() const { return model_; }
  const std::string& model_sha256() const { return space_.model_sha256; }
  const Profile& target() const { return objectives_->target(); }
  double original_accuracy() const { return original_accuracy_; }  // fraction
  // The latency model in use, e.g. "measured host model (cache ..., 2 threads, ...)" or
  // "roofline of target bitfusion"; the study records it (user attr "latency_model").
  const std::string& latency_model() const { return latency_about_; }
  int64_t validation_size() const;
  // The validation and calibration data (validation_spec / calibration_spec of the config).
  const ProblemData& validation_data() const { return val_data_; }
  const ProblemData& calibration_data() const { return calib_data_; }

  std::vector<Objective> objectives() const;          // storage names: accuracy, latency_ms, ...
  std::vector<std::string> constraint_names() const;  // accuracy_drop, latency, size, energy (set)
  std::vector<Sense> senses() const;
  std::vector<uint8_t> known_mask() const;  // 1 for latency / energy / size
  // Hypervolume reference: accuracy = original - allowed drop (or - 10 points when none), known
  // objectives = the original model's values.
  std::vector<double> reference_point() const;
  // Known objectives (accuracy entry NaN) and the cheap constraints (latency, size, energy).
  std::vector<double> known_values(const Candidate& c) const;
  std::vector<double> cheap_constraints(const Candidate& c) const;
  KnownObjectives known(const Recipe& r) const { return objectives_->evaluate(r); }
  const ObjectiveModel& objective_model() const { return *objectives_; }

  // The compressed model of a recipe (validated against the model and target), by
  // compressors/apply with the context collected once on the calibration data.
  Graph build(const Recipe& r) const;
  // Evaluates a candidate; thread-safe (each call compiles its own executor with `threads`
  // oneDNN threads). Never throws for a candidate's failure: FAIL with the error instead.
  // `stop` (may be empty) is polled between chunks; when it returns true the trial is abandoned
  // (FAIL, "interrupted").
  // `front` (from front_points()) enables early stopping against the front.
  Evaluation evaluate(const Candidate& c, int threads = 0, const std::function<bool()>& stop = {},
                      std::span<const FrontPoint> front = {}) const;
  // The feasible non-dominated COMPLETE trials evaluated on this problem's whole validation set
  // (metric "images" = validation_size(); `tell`'s external values are left out), as FrontPoints.
  // Empty when accuracy is not an objective or front stopping is off.
  std::vector<FrontPoint> front_points(const std::vector<FrozenTrial>& trials) const;
  // Evaluates a recipe on the first `limit` validation images (0 = all): the paired drop.
  PairedDrop accuracy_of(const Recipe& r, int64_t limit, int threads = 0) const;
  // Each non-frozen knob alone at 3 levels (first, middle, last), on `limit` images.
  std::vector<SensitivityCurve> sensitivity(
      int64_t limit, int threads = 0,
      const std::function<void(const std::string&)>& progress = {}) const;

  // The StudySpec this problem records (objectives, constraints, reference point, search space,
  // configuration); sampler fields filled by the caller.
  StudySpec study_spec(const std::string& name) const;

 private:
  // Why to stop after the images behind `d` ("" = go on) and the "pruned_by" attr value.
  std::pair<std::string, std::string> stop_reason(const PairedDrop& d,
                                                  std::span<const double> known,
                                                  std::span<const FrontPoint> front) const;
  // Per-image correctness of images [begin, end) (labels, or agreement with the original).
  std::vector<uint8_t> correct(Executor& ex, int64_t batch, int64_t begin, int64_t end) const;

  ProblemConfig config_;
  Graph model_;
  CompressionSpace space_;
  std::unique_ptr<ObjectiveModel> objectives_;
  Dataset val_, calib_;
  ProblemData val_data_, calib_data_;
  std::vector<int64_t> original_top1_;  // original prediction per validation image
  std::vector<uint8_t> original_correct_;
  double original_accuracy_ = 0;
  KnownObjectives original_known_;
  std::string latency_about_;
  std::unique_ptr<ApplyContext> apply_;  // statistics of the original on the calibration data
};

}  // namespace autocompress
