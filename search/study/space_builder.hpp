// The compression search space of one model on one target: which knobs the search turns (prune per
// dependency group; precision, wbits, rank per Conv/Gemm), their ordered levels (index 0 = no
// compression), the override rules, and the exact mapping candidate <-> recipe <-> trial params.
// The knobs and rules are listed in docs/search.md, "The search space".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "compressors/dependency.hpp"
#include "compressors/recipe.hpp"
#include "hwmodels/profile.hpp"
#include "model/graph.hpp"
#include "search/samplers/space.hpp"
#include "storage/types.hpp"

namespace autocompress {

struct SpaceRule {
  std::string layer;                // exact name or glob (*, ?)
  std::string knob;                 // "prune" | "precision" | "wbits" | "rank" | "" (every knob)
  bool keep_float = false;          // precision fp32, wbits 8, rank 1, prune 0: the layer untouched
  std::optional<KnobValue> freeze;  // the knob fixed at this level value
  std::vector<KnobValue> levels;    // non-empty: replaces the knob's levels (first = least)
};

struct SpaceOptions {
  std::vector<double> prune_levels = {0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75};
  std::vector<int> wbits_levels = {8, 6, 4, 3, 2};
  std::vector<double> rank_levels = {1, 0.75, 0.5, 0.375, 0.25};
  bool prune = true, precision = true, wbits = true, rank = true;  // knob types searched at all
  std::vector<SpaceRule> rules;
};

// JSON <-> options: {"prune_levels": [...], "wbits_levels": [...], "rank_levels": [...],
// "knobs": ["prune", "precision", "wbits", "rank"], "rules": [...]}; unknown keys and bad values
// throw UsageError naming them.
SpaceOptions parse_space_options(const nlohmann::json& j);
nlohmann::json space_options_json(const SpaceOptions& o);

// What one knob changes in a recipe.
struct KnobTarget {
  std::vector<std::string> layers;  // prune: the group's producers and followers; else one layer
  int group = -1;                   // prune knobs: the dependency group id
};

struct CompressionSpace {
  SearchSpace space;
  std::vector<KnobTarget> targets;  // parallel to space.knobs
  std::string model_sha256;
  std::vector<std::string> layers;  // the model's Conv/Gemm layers, schedule order
  std::vector<PruneGroup> groups;   // dependency_groups() of the model
  SpaceOptions options;
};

// Throws UsageError for a rule that matches nothing, a frozen value that is not a level, a level
// out of the recipe's ranges or a precision the target lacks.
CompressionSpace build_compression_space(const Graph& g, const std::string& model_sha256,
                                         const Profile& target, const SpaceOptions& options = {});

// Candidate -> recipe (defaults = the recipe defaults; every layer gets an entry with the fields
// its knobs set). Exact: candidate_from_recipe(s, candidate_to_recipe(s, c)) == c.
Recipe candidate_to_recipe(const CompressionSpace& s, const Candidate& c);
// Recipe -> candidate; RecipeError naming the layer and field when a value is not a level of its
// knob, or a frozen knob has another value.
Candidate candidate_from_recipe(const CompressionSpace& s, const Recipe& r);

// Trial params: "<knob name>" -> level value (double or string), sorted by name.
std::vector<Param> candidate_params(const CompressionSpace& s, const Candidate& c);
// Params -> candidate; UsageError naming a missing knob or a value that is not a level.
Candidate candidate_from_params(const CompressionSpace& s, const std::vector<Param>& params);

// A uniform candidate: every knob of `type` at the level whose value equals `value` (or the
// nearest level), frozen knobs at their level, all others at 0. std::nullopt when no knob of that
// type has the value among its levels (the baseline is not legal here).
std::optional<Candidate> uniform_candidate(const CompressionSpace& s, Knob::Type type,
                                           const KnobValue& value);

// The search_space JSON stored in the study: the options and the knob list (name, type, levels,
// fixed), enough to check that a resumed study searches the same space.
std::string space_json(const CompressionSpace& s);

}  // namespace autocompress
