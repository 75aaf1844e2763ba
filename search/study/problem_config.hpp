// The configuration of the compression problem (the --config file, the flags of `search`, the
// study's user attr "config"), described once by its table: parsing, writing, the unknown-key
// message and the CLI's flags all come from problem_config_table().
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/config_table.hpp"
#include "common/sense.hpp"
#include "data/data_spec.hpp"
#include "search/study/space_builder.hpp"

namespace autocompress {

struct ProblemConfig {
  std::string model = "examples/fashion_cnn.onnx";
  // The validation data and the calibration data: any source open_dataset reads (docs/data.md).
  std::string data = kDefaultDataDir;
  std::string labels;         // for an images file or a flat folder
  std::string split = "val";  // IDX directories only
  std::string calib;          // empty: data's calib_split (IDX directories only)
  std::string calib_split = "train";
  // Preprocessing of both (data/preprocess.hpp). `preprocess` is a JSON file whose fields fill
  // the ones left at their defaults (with_preprocess_file); mean / std empty: the model's metadata.
  std::string preprocess;
  std::vector<int64_t> resize, center_crop;  // {}, {S} or {H, W}
  std::vector<double> mean, std;
  std::string channel_order = "RGB";  // RGB | BGR
  std::string layout = "NCHW";        // NCHW | NHWC
  std::string target = "host";
  std::vector<std::string> objectives = {"accuracy", "latency", "size"};
  double max_accuracy_drop = 0;                                   // points; <= 0: no constraint
  double max_latency_ms = 0, max_size_mb = 0, max_energy_mj = 0;  // <= 0: no constraint
  int64_t val_limit = 0;       // first N validation images (0 = all)
  int64_t calib_limit = 1000;  // calibration images
  int64_t chunk = 1000;        // images per early-stopping chunk
  bool early_stopping = true;
  bool front_stopping = true;  // also prune candidates the current front dominates for sure
  double stop_z = 3.0;
  int64_t latency_batch = 1;  // batch of the latency / energy prediction
  int64_t eval_batch = 256;
  bool recover = true;                 // least-squares reconstruction after pruning
  std::string latency_model = "auto";  // auto | measured | roofline (docs/search.md)
  std::string measure_cache;           // measured: the cache file ("" = the default)
  SpaceOptions space;
};

// Every key of ProblemConfig, in the order the unknown-key message lists them.
const ConfigTable<ProblemConfig>& problem_config_table();

// JSON <-> config (the --config file and the study's user attr "config"): unknown keys, values of
// the wrong type and values out of range throw ConfigError naming the key.
ProblemConfig parse_problem_config(const nlohmann::json& j, ProblemConfig base = {});
nlohmann::json problem_config_json(const ProblemConfig& c);

// `c` with the fields of its preprocessing file (`c.preprocess`) in the fields left at their
// defaults (resize, center_crop, mean, std, channel_order, layout); `c` itself without a file.
// DataError naming the file for an unreadable or invalid one. CompressionProblem holds (and a
// study records) its config after this, so the record does not depend on the file any more.
ProblemConfig with_preprocess_file(ProblemConfig c);

// The DataSpec of the validation data (data, labels, split, val_limit) and of the calibration data
// (calib, or data when empty; calib_split, calib_limit), both with the config's preprocessing;
// mean / std left empty are `model_norm` (the model's metadata, evaluator/evaluate.hpp). Functions
// of their arguments: the split is set only when the source is an IDX directory or the split is
// not the default (then open_dataset refuses it for another kind). `c.preprocess` is not read:
// pass the config through with_preprocess_file first.
DataSpec validation_spec(const ProblemConfig& c, const Normalization& model_norm = {});
DataSpec calibration_spec(const ProblemConfig& c, const Normalization& model_norm = {});

// Storage name and sense of an objective of the config ("latency" -> "latency_ms", minimize);
// UsageError for one that is not known.
std::pair<std::string, Sense> objective_info(const std::string& objective);

}  // namespace autocompress
