// The Pareto front of a study's trials, its knee point, the hypervolume over the trials and a
// compact per-layer summary of a recipe: what `autocompress pareto` and `report` show.
// Pure functions over storage snapshots (storage/types.hpp) and plain points: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "compressors/recipe.hpp"
#include "search/moo/hypervolume_history.hpp"
#include "search/moo/knee.hpp"
#include "search/moo/pareto.hpp"
#include "storage/types.hpp"

namespace autocompress {

// COMPLETE with one non-NaN value per objective: the trials a front is made of.
bool has_all_values(const Study& s, const FrozenTrial& t);

struct TrialFront {
  std::vector<size_t> members;  // indices into the trials, ascending
  // False when no COMPLETE trial is feasible: the members are then the first front under
  // constraint-domination, i.e. the non-dominated trials among those of least total violation.
  bool feasible = true;
};

// The first front under constraint-domination (Deb, Pratap, Agarwal, Meyarivan 2002, section VI;
// search/moo/nondominated.hpp): among the COMPLETE trials with all values, the feasible
// non-dominated ones when any is feasible, else the least-violating non-dominated ones.
TrialFront study_front(const Study& s, std::span<const FrozenTrial> trials);

// The study's reference point when it has one per objective; else the worst value of each
// objective among `points`, moved away by 10% of its range (1 when the range is 0), so that
// every point adds volume.
std::vector<double> reference_or_nadir(const Study& s, std::span<const double> points);

// A trial's numbers under other known values (e.g. latency and energy re-scored for another
// target): the objectives and metrics named in `known` ("latency_ms", "energy_mj", "size_mb")
// take the new values, and the constraints on them ("latency", "energy", "size", each value -
// limit: search/study/problem.hpp) shift by the same change, so feasibility follows. Accuracy and
// everything else are unchanged.
FrozenTrial with_known_values(const Study& s, FrozenTrial t,
                              const std::map<std::string, double>& known);

// The recipe of a trial as JSON (docs/recipe.md): the user attr "recipe" the search records (the
// exact, effective recipe) or, without it, one rebuilt from the params ("<layer>/<knob>" ->
// layers[layer][knob], a name without '/' -> defaults); "metrics" holds the trial's values and
// metrics. Throws RecipeError when the attr is not valid JSON.
nlohmann::json trial_recipe(const Study& s, const FrozenTrial& t);

// The uniform policy a trial is, if any: the user attr "baseline" when the search recorded one,
// else, from the study's search_space knob list, "int8 everywhere" / "bf16 everywhere" (every
// precision knob at that mode), "4-bit weights", "25% uniform pruning", "rank 50% everywhere"
// when every free knob of one type has the same value, not its first level, and every other free
// knob is at its first level. Empty otherwise. These are what the report marks as baselines.
std::string uniform_policy(const Study& s, const FrozenTrial& t);

// Layer names in schedule order: the order in which they first appear among the knobs of the
// study's search_space JSON ({"knobs": [{"name": "<layer>/<knob>"}, ...]}); empty when it has no
// knob list.
std::vector<std::string> layer_order(const Study& s);

struct LayerRow {
  std::string layer;
  LayerSettings settings;
};
// Every layer with its effective settings: those of `order` (the model's layers, defaults
// applied), then layers the recipe names that `order` lacks, by name. With an empty `order` and
// non-default defaults, a last row "*" holds the defaults (every other layer; "others ..." in
// the summary).
std::vector<LayerRow> recipe_layers(const Recipe& r, const std::vector<std::string>& order);

// One layer in a few characters: compute mode f / b / i (fp32 / bf16 / int8), the weight bits
// when quantized (int8 always, float when wbits < 8), "-pNN" when NN% of the channels are pruned,
// "-rNN" when NN% of the rank is kept: "i8", "f4", "b-p25", "i4-p50-r75".
std::string layer_code(const LayerSettings& s);
// The codes of all layers, space-separated ("all i8" when every layer is the same).
std::string recipe_summary(std::span<const LayerRow> layers);
inline constexpr const char* kSummaryLegend =
    "per layer in schedule order: f/b/i = fp32/bf16/int8 compute, digit = weight bits, "
    "pNN = NN% channels pruned, rNN = NN% rank kept";

}  // namespace autocompress
