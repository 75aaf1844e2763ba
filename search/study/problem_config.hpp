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
#include "search/study/space_builder.hpp"

namespace autocompress {

struct ProblemConfig {
  std::string model = "examples/fashion_cnn.onnx";
  std::string data = "/usr/share/datasets/fashion-mnist";  // directory (val split) or images file
  std::string labels;                                      // for an images file
  std::string calib;  // directory (train split) or images file; empty = data's train split
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

// Storage name and sense of an objective of the config ("latency" -> "latency_ms", minimize);
// UsageError for one that is not known.
std::pair<std::string, Sense> objective_info(const std::string& objective);

}  // namespace autocompress
