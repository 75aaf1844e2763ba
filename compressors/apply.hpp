// apply: model + recipe + calibration data -> compressed model, in the order of docs/recipe.md
// ("Order of operations in apply"): prune, LS refit, factorize, BN re-estimation, quantize.
// ApplyContext collects everything that needs a pass over the original model's calibration data
// once; apply(ctx, recipe) then costs milliseconds per candidate.
// Thread-safety: an ApplyContext is immutable after construction; apply() may be called from
// several threads on one context. Deterministic: same context and recipe, identical graph.
#pragma once

#include <string>
#include <vector>

#include "compressors/calibrate.hpp"
#include "compressors/dependency.hpp"
#include "compressors/lowrank.hpp"
#include "compressors/prune.hpp"
#include "compressors/quantize_pass.hpp"
#include "compressors/recipe.hpp"
#include "compressors/recover.hpp"
#include "data/dataset.hpp"
#include "model/graph.hpp"

namespace autocompress {

struct ApplyOptions {
  PruneOptions prune;
  bool ls_reconstruction = true;  // step 2 (ablation in BENCHMARKS.md: gain >> 2 paired SEs)
  bool bn_reestimation = false;   // step 4 (ablation: no gain after LS on the example model)
  // Low rank weighted by the layer's input second moment (compressors/lowrank.hpp), from the LS
  // statistics; without them (no calibration data, ls_reconstruction off) plain SVD.
  bool data_aware_lowrank = true;
  RecoverOptions recover;
  QuantizeOptions quant;  // mse_clipping, bias_correction, activation scale method
  CalibOptions calib;
  int64_t extra_calib_images = 256;
};

// `base` with the settings of a recipe's calibration record (channel multiple, LS refit, the
// sampling of the refit, histogram bins, extra images): the options the study applied with.
ApplyOptions apply_options(const CalibrationRecord& record, ApplyOptions base = {});
// The record of calibrating on `data` with `o` (no fingerprint: the caller takes it).
CalibrationRecord calibration_record(const DataSpec& data, const ApplyOptions& o);

class ApplyContext {
 public:
  // Collects the statistics of `original` on `calib` (may be empty: then recipes that need
  // calibration data - LS, BN re-estimation, int8, bias correction - throw UsageError in apply).
  // Throws DataError when `calib` does not fit the model.
  ApplyContext(Graph original, Dataset calib, ApplyOptions options = {});

  const Graph& original() const { return original_; }
  const Dataset& calibration() const { return calib_; }
  const ApplyOptions& options() const { return options_; }
  const ChannelAnalysis& channels() const { return analysis_; }
  const ReconstructionStats& ls_stats() const { return ls_stats_; }
  const ActivationStats& activation_stats() const { return act_stats_; }

 private:
  Graph original_;
  Dataset calib_;
  ApplyOptions options_;
  ChannelAnalysis analysis_;
  ReconstructionStats ls_stats_;
  ActivationStats act_stats_;
};

struct ApplyReport {
  PruneReport prune;
  LowRankReport lowrank;
  std::vector<std::string> notes;  // what each step did, in order
};

// The compressed model. Validates the recipe against the model's structure (not its hash: the
// caller checks that, see validate_recipe) and throws RecipeError like validate_recipe.
Graph apply(const ApplyContext& ctx, const Recipe& recipe, ApplyReport* report = nullptr);
// Same with other switches (ablations). `options.recover`/`calib` settings that change what the
// context collected (positions_per_image, seed, bins) have no effect.
Graph apply(const ApplyContext& ctx, const Recipe& recipe, const ApplyOptions& options,
            ApplyReport* report = nullptr);

}  // namespace autocompress
