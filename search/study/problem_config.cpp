#include "search/study/problem_config.hpp"

#include <charconv>
#include <filesystem>

#include "data/image_folder.hpp"

namespace autocompress {

namespace {

using C = ProblemConfig;
using nlohmann::json;

// A size of the preprocessing: S or [S] or [H, W], positive; written as a list.
std::vector<int64_t> parse_size(const json& v) {
  return v.is_number() ? std::vector<int64_t>{v.get<int64_t>()} : v.get<std::vector<int64_t>>();
}
// Per-channel values: x or [x, ...]; written as a list.
std::vector<double> parse_values(const json& v) {
  return v.is_number() ? std::vector<double>{v.get<double>()} : v.get<std::vector<double>>();
}
template <class T>
json write_list(const std::vector<T>& v) {
  return json(v);
}

template <class T>
ConfigField<C> list_field(std::string key, std::vector<T> C::*m, std::string flag, std::string help,
                          std::vector<T> (*parse)(const json&), Check<std::vector<T>> check) {
  ConfigField<C> f = nested_field(key, m, std::move(help), parse, &write_list<T>);
  f.info.flag = std::move(flag);
  f.check = [m, key, check](const C& c) { check(key, c.*m); };
  return f;
}

void check_size(const std::string& key, const std::vector<int64_t>& v) {
  bool ok = v.size() <= 2;
  for (int64_t s : v) ok = ok && s > 0;
  if (!ok)
    throw ConfigError(key,
                      "config: " + key + " must be S or [H, W] (positive), got " + json(v).dump());
}

void check_std(const std::string& key, const std::vector<double>& v) {
  for (double s : v)
    if (!(s != 0))
      throw ConfigError(key, "config: " + key + " values must be non-zero, got " + json(v).dump());
}
void any_values(const std::string&, const std::vector<double>&) {}

// True for an IDX directory; false for a file, another kind or a path that is not there (then
// open_dataset says what it found).
bool is_idx_dir(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return false;
  try {
    return detect_dir_kind(path) == DirKind::kIdx;
  } catch (const Error&) {
    return false;
  }
}

// The shortest decimal that reads back as `f` (0.485f -> 0.485, not 0.48500001430511475).
double shortest(float f) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::stod(std::string(buf, r.ptr));
}
std::vector<double> doubles(const std::vector<float>& v) {
  std::vector<double> out;
  for (float f : v) out.push_back(shortest(f));
  return out;
}
std::vector<float> floats(const std::vector<double>& v) {
  return std::vector<float>(v.begin(), v.end());
}

Preprocessing preprocessing(const C& c, const Normalization& model_norm) {
  Preprocessing p;
  p.resize = c.resize;
  p.center_crop = c.center_crop;
  p.norm.mean = c.mean.empty() ? model_norm.mean : floats(c.mean);
  p.norm.std = c.std.empty() ? model_norm.std : floats(c.std);
  p.order = c.channel_order == "BGR" ? ChannelOrder::kBgr : ChannelOrder::kRgb;
  p.layout = c.layout == "NHWC" ? Layout::kNhwc : Layout::kNchw;
  return p;
}

// The split of `source` when it applies: an IDX directory, or a split that is not the default.
std::optional<Split> split_of(const std::string& source, const std::string& split,
                              const char* default_split) {
  if (split != default_split || is_idx_dir(source)) return parse_split(split);
  return std::nullopt;
}

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
            "validation data: IDX directory, IDX or .npy file, class folders or flat images"),
      field("labels", &C::labels, "--labels", "labels for an images file or flat folder"),
      field("split", &C::split, "--split", "split of an IDX directory (val)",
            one_of({"train", "val", "test"})),
      field("calib", &C::calib, "--calib",
            "calibration data, any kind (default: the IDX directory's calib_split)"),
      field("calib_split", &C::calib_split, "--calib-split",
            "split of an IDX calibration directory (train)", one_of({"train", "val", "test"})),
      field("preprocess", &C::preprocess, "--preprocess", "preprocessing JSON file"),
      list_field("resize", &C::resize, "--resize", "images: resize to S (shorter side) or H,W",
                 parse_size, Check<std::vector<int64_t>>(check_size)),
      list_field("center_crop", &C::center_crop, "--center-crop", "images: center crop to S or H,W",
                 parse_size, Check<std::vector<int64_t>>(check_size)),
      list_field("mean", &C::mean, "--mean", "per-channel mean (default: the model's metadata)",
                 parse_values, Check<std::vector<double>>(any_values)),
      list_field("std", &C::std, "--std", "per-channel std (default: the model's metadata)",
                 parse_values, Check<std::vector<double>>(check_std)),
      field("channel_order", &C::channel_order, "--bgr", "images: RGB | BGR",
            one_of({"RGB", "BGR"})),
      field("layout", &C::layout, "--nhwc", "images: NCHW | NHWC", one_of({"NCHW", "NHWC"})),
      field("target", &C::target, "--target,-t", "hardware target (default host)"),
      field("objectives", &C::objectives, "--objectives",
            "2-4 of accuracy,latency,energy,size (default accuracy,latency,size)",
            Check<std::vector<std::string>>(check_objectives)),
      field("max_accuracy_drop", &C::max_accuracy_drop, "--max-accuracy-drop", "points of top-1"),
      field("max_latency_ms", &C::max_latency_ms, "--max-latency", "ms on the target"),
      field("max_size_mb", &C::max_size_mb, "--max-size", "MB packed"),
      field("max_energy_mj", &C::max_energy_mj, "--max-energy", "mJ on the target"),
      field("val_limit", &C::val_limit, "--limit", "first N validation images",
            at_least<int64_t>(0)),
      field("calib_limit", &C::calib_limit, "--calib-images", "calibration images (1000)",
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

ProblemConfig with_preprocess_file(ProblemConfig c) {
  if (c.preprocess.empty()) return c;
  const Preprocessing f = read_preprocessing(c.preprocess);
  if (c.resize.empty()) c.resize = f.resize;
  if (c.center_crop.empty()) c.center_crop = f.center_crop;
  if (c.mean.empty()) c.mean = doubles(f.norm.mean);
  if (c.std.empty()) c.std = doubles(f.norm.std);
  if (c.channel_order == "RGB" && f.order == ChannelOrder::kBgr) c.channel_order = "BGR";
  if (c.layout == "NCHW" && f.layout == Layout::kNhwc) c.layout = "NHWC";
  return c;
}

DataSpec validation_spec(const ProblemConfig& c, const Normalization& model_norm) {
  DataSpec s;
  s.source = c.data;
  s.labels = c.labels;
  s.split = split_of(c.data, c.split, "val");
  s.limit = c.val_limit;
  s.preprocessing = preprocessing(c, model_norm);
  return s;
}

DataSpec calibration_spec(const ProblemConfig& c, const Normalization& model_norm) {
  DataSpec s;
  s.source = c.calib.empty() ? c.data : c.calib;
  s.split = split_of(s.source, c.calib_split, "train");
  s.limit = c.calib_limit;
  s.preprocessing = preprocessing(c, model_norm);
  return s;
}

std::pair<std::string, Sense> objective_info(const std::string& o) {
  if (o == "accuracy") return {"accuracy", Sense::kMaximize};
  if (o == "latency") return {"latency_ms", Sense::kMinimize};
  if (o == "energy") return {"energy_mj", Sense::kMinimize};
  if (o == "size") return {"size_mb", Sense::kMinimize};
  throw UsageError("objective '" + o + "' is not known (known: accuracy, latency, energy, size)");
}

}  // namespace autocompress
