#include "search/study/problem_config.hpp"

namespace autocompress {

namespace {

using C = ProblemConfig;

// 2 to 4 known objectives.
void check_objectives(const std::string&, const std::vector<std::string>& objectives) {
  if (objectives.size() < 2 || objectives.size() > 4)
    throw ConfigError("objectives",
                      "objectives: need 2 to 4 of accuracy, latency, energy, size, got " +
                          std::to_string(objectives.size()));
  for (const auto& o : objectives) objective_info(o);
}

ConfigTable<C> make_table() {
  return ConfigTable<C>({
      field("model", &C::model, "--model,-m", "ONNX model (default: the embedded example)"),
      field("data", &C::data, "--data,-d",
            "validation data: Fashion-MNIST-style directory (val split) or images file"),
      field("labels", &C::labels, "--labels", "labels for an images file"),
      field("calib", &C::calib, "--calib",
            "calibration data (directory: its train split; default: --data's)"),
      field("target", &C::target, "--target,-t", "hardware target (default host)"),
      field("objectives", &C::objectives, "--objectives",
            "2-4 of accuracy,latency,energy,size (default accuracy,latency,size)",
            Check<std::vector<std::string>>(check_objectives)),
      field("max_accuracy_drop", &C::max_accuracy_drop, "--max-accuracy-drop", "points of top-1"),
      field("max_latency_ms", &C::max_latency_ms, "--max-latency", "ms on the target"),
      field("max_size_mb", &C::max_size_mb, "--max-size", "MB packed"),
      field("max_energy_mj", &C::max_energy_mj, "--max-energy", "mJ on the target"),
      field("val_limit", &C::val_limit, "--val-limit", "first N validation images",
            at_least<int64_t>(0)),
      field("calib_limit", &C::calib_limit, "--calib-limit", "calibration images (1000)",
            at_least<int64_t>(0)),
      field("chunk", &C::chunk, "--chunk", "images per early-stopping chunk (1000)",
            at_least<int64_t>(1)),
      field("early_stopping", &C::early_stopping, "--no-early-stopping",
            "evaluate every trial on all validation images"),
      field("front_stopping", &C::front_stopping, "--no-front-stopping",
            "prune only by the accuracy constraint, not against the current front"),
      field("stop_z", &C::stop_z, "", "z of the early-stopping bounds (3)"),
      field("latency_batch", &C::latency_batch, "", "batch of the latency / energy prediction",
            at_least<int64_t>(1)),
      field("eval_batch", &C::eval_batch, "", "batch of the accuracy evaluation",
            at_least<int64_t>(1)),
      field("recover", &C::recover, "", "least-squares reconstruction after pruning"),
      field("latency_model", &C::latency_model, "--latency-model",
            "auto | measured | roofline (auto: the roofline until the measured host model is "
            "validated in the search; measured: host only)",
            one_of({"auto", "measured", "roofline"})),
      field("measure_cache", &C::measure_cache, "--measure-cache",
            "measured latency model's cache (default as profile's)"),
      nested_field("space", &C::space, "the search space (docs/search.md)", parse_space_options,
                   space_options_json),
  });
}

}  // namespace

const ConfigTable<ProblemConfig>& problem_config_table() {
  static const ConfigTable<ProblemConfig> table = make_table();
  return table;
}

ProblemConfig parse_problem_config(const nlohmann::json& j, ProblemConfig base) {
  return problem_config_table().parse(j, std::move(base));
}

nlohmann::json problem_config_json(const ProblemConfig& c) {
  return problem_config_table().write(c);
}

std::pair<std::string, Sense> objective_info(const std::string& o) {
  if (o == "accuracy") return {"accuracy", Sense::kMaximize};
  if (o == "latency") return {"latency_ms", Sense::kMinimize};
  if (o == "energy") return {"energy_mj", Sense::kMinimize};
  if (o == "size") return {"size_mb", Sense::kMinimize};
  throw UsageError("objective '" + o + "' is not known (known: accuracy, latency, energy, size)");
}

}  // namespace autocompress
