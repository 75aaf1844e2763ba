// The recipe: per-layer compression settings, versioned JSON (docs/recipe.md, the schema in
// docs/recipe.schema.json). A candidate of the search is a recipe; applying it to the model it
// was made for (identified by the sha256 of the ONNX file bytes) gives the compressed model.
//
//   {"format": "autocompress-recipe", "version": 2, "model_sha256": "<64 hex>",
//    "defaults": {"prune": 0, "precision": "fp32", "wbits": 8, "rank": 1.0},
//    "layers": {"<layer name>": {"prune": 0.5, "precision": "int8"}},   // fields optional
//    "calibration": {"data": {..DataSpec..}, "fingerprint": {..}, ...}, // optional (version 2)
//    "metrics": {...}}                                                  // optional, not applied
//
// Version 1 (no "calibration") still reads; version 2 is written.
// Errors are RecipeError (ErrorKind::kUsage) naming the file, the field path and the value seen.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/precision.hpp"
#include "compressors/dependency.hpp"
#include "data/data_spec.hpp"
#include "data/fingerprint.hpp"
#include "model/graph.hpp"

namespace autocompress {

inline constexpr int kRecipeVersion = 2;        // written
inline constexpr int kOldestRecipeVersion = 1;  // read: 1 .. kRecipeVersion
inline constexpr double kMaxPrune = 0.9;

// The effective settings of one layer.
struct LayerSettings {
  double prune = 0;  // fraction of output channels removed, [0, 0.9]
  Precision precision = Precision::kFp32;
  int wbits = 8;      // weight grid, 2..8
  double rank = 1.0;  // fraction of full rank kept, (0, 1]

  bool operator==(const LayerSettings&) const = default;
};

// A layer entry: only the fields it sets; the others come from the defaults.
struct LayerOverride {
  std::optional<double> prune;
  std::optional<Precision> precision;
  std::optional<int> wbits;
  std::optional<double> rank;

  bool operator==(const LayerOverride&) const = default;
};

// How the study calibrated its candidates, so that `apply` calibrates the same way and gets the
// trial's model: the calibration data (its limit is the number of images, in the source's
// order), the data's fingerprint when the study ran, and every setting of ApplyOptions that
// changes the result (compressors/apply.hpp: apply_options / calibration_record). The defaults
// are ApplyOptions' (a test keeps them equal).
struct CalibrationRecord {
  DataSpec data;                           // preprocessing resolved (the model's metadata included)
  std::optional<Fingerprint> fingerprint;  // of data.source
  bool ls_reconstruction = true;           // ApplyOptions::ls_reconstruction
  int64_t channel_multiple = 16;           // PruneOptions::channel_multiple (the study's target)
  int64_t positions_per_image = 10;        // RecoverOptions: sampled positions per image ...
  uint32_t seed = 0;                       // ... and their seed
  int histogram_bins = 2048;               // CalibOptions::bins
  int64_t extra_images = 256;              // ApplyOptions::extra_calib_images
};

struct Recipe {
  std::string source;        // file it was read from, for messages
  std::string model_sha256;  // lower-case hex
  LayerSettings defaults;
  std::map<std::string, LayerOverride> layers;
  std::optional<CalibrationRecord> calibration;  // version 2; ignored by apply(ctx, recipe)
  nlohmann::json metrics;                        // carried along, ignored by apply

  // The effective settings of `layer` (defaults overridden by its entry).
  LayerSettings settings(const std::string& layer) const;
};

// Parse and check a recipe on its own (format, version, types, ranges, unknown fields).
// Throws RecipeError: malformed JSON (with the parser's position), a wrong format or version,
// a value out of range ("layers.conv1.prune: must be in [0, 0.9], got 1"), an unknown field
// ("calibration" in a version 1 recipe too); DataError (data/data_spec_json.hpp) for a bad
// "calibration.data" or "calibration.fingerprint".
Recipe parse_recipe(const std::string& json_text, const std::string& source = "");
// Read a file and parse it; IoError when it cannot be read.
Recipe load_recipe(const std::string& path);
// Canonical JSON text (the format parse_recipe reads; stable key order), version kRecipeVersion.
std::string recipe_to_json(const Recipe& r);
// The "calibration" object of a recipe, and back (errors as parse_recipe's; `source` names the
// file).
nlohmann::json calibration_record_json(const CalibrationRecord& c);
CalibrationRecord parse_calibration_record(const nlohmann::json& j, const std::string& source);

struct RecipeCheck {
  std::string model_sha256;  // of the ONNX file bytes; empty skips the hash check
  // The precision modes the target supports; std::nullopt accepts all.
  std::optional<std::set<Precision>> legal_precisions;
};

// Check a parsed recipe against its model. Throws RecipeError on: a model hash that differs,
// a layer name that is not a Conv/Gemm of the model (listing a few known layers), a precision
// the target does not support, prune > 0 on a layer that cannot be pruned (the output layer,
// grouped convs: the message says why), layers of one dependency group with different prune
// values (naming the group and the layers).
void validate_recipe(const Recipe& r, const Graph& g, const RecipeCheck& check);

// The prune ratio of every group with a non-zero ratio (group id -> ratio), from a recipe
// validated against the graph `groups` were computed on. Followers (depthwise convs) take the
// ratio of their group; they may not disagree with it (validate_recipe checks).
std::map<int, double> group_prune_ratios(const Recipe& r, const std::vector<PruneGroup>& groups);

// The recipe layer a node of a compressed graph belongs to ("<layer>/lowrank_a" -> "<layer>").
std::string recipe_layer_of(const std::string& node_name);

// A layer's modes as the attributes of its Conv/Gemm node (model/graph.hpp): "precision" unless
// fp32, "wbits" when the weights are quantized (int8, or fewer than 8 bits).
void set_mode_attrs(Node& n, Precision precision, int wbits);
// The recipe's modes on every Conv/Gemm of g, both factors of a factorized layer taking their
// recipe layer's (the costing graph of a recipe: shapes are left as they are).
void set_mode_attrs(Graph& g, const Recipe& r);

}  // namespace autocompress
