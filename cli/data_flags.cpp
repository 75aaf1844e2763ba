#include "cli/data_flags.hpp"

#include <filesystem>

#include "common/sha256.hpp"
#include "data/image_folder.hpp"
#include "evaluator/evaluate.hpp"

namespace autocompress::cli {

namespace {

void add_preprocess_flags(CLI::App& cmd, PreprocessFlags& p) {
  cmd.add_option("--preprocess", p.file,
                 "preprocessing JSON file (docs/data.md): resize, center_crop, mean, std, "
                 "channel_order, layout; flags below override its fields");
  cmd.add_option("--resize", p.resize,
                 "images: resize the shorter side to S (S), or to H,W (bilinear, antialiased)")
      ->delimiter(',')
      ->expected(1, 2);
  cmd.add_option("--center-crop", p.center_crop, "images: center crop to S x S (S), or H,W")
      ->delimiter(',')
      ->expected(1, 2);
  cmd.add_option("--mean", p.mean,
                 "per-channel mean after scaling to [0,1] (one value or one per channel); "
                 "default: the model's metadata")
      ->delimiter(',');
  cmd.add_option("--std", p.std, "per-channel std (as --mean)")->delimiter(',');
  cmd.add_flag("--bgr", p.bgr, "images: channels in BGR order (default RGB)");
  cmd.add_flag("--nhwc", p.nhwc, "images: samples laid out NHWC (default NCHW)");
}

// "--limit" with its alias: "--limit,--val-limit".
std::string names(const std::string& flag, const std::string& alias) {
  return alias.empty() ? flag : flag + "," + alias;
}

std::vector<float> floats(const std::vector<double>& v) {
  return std::vector<float>(v.begin(), v.end());
}

}  // namespace

bool given(const CLI::Option* o) { return o && o->count() > 0; }

void add_data_flags(CLI::App& cmd, DataFlags& d, PreprocessFlags& pre, const DataAliases& al) {
  d.source_option =
      cmd.add_option(names("--data,-d", al.data), d.source,
                     "data: Fashion-MNIST-style IDX directory, IDX or .npy images file, class "
                     "folders (DIR/<class>/*.jpg|png) or a flat folder of images")
          ->capture_default_str();
  d.labels_option = cmd.add_option(names("--labels", al.labels), d.labels,
                                   "labels file (.npy or IDX) for an images file or flat folder");
  d.split_option = cmd.add_option("--split", d.split,
                                  "train | val | test (IDX directories only; val = last 10k of "
                                  "train)")
                       ->capture_default_str();
  d.limit_option =
      cmd.add_option(names("--limit", al.limit), d.limit, "only the first N images (0 = all)")
          ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  add_preprocess_flags(cmd, pre);
}

void add_calib_flags(CLI::App& cmd, DataFlags& c, PreprocessFlags* pre,
                     const std::string& limit_alias) {
  c.source_option = cmd.add_option("--calib", c.source,
                                   "calibration data: any --data kind (IDX directory, IDX or .npy "
                                   "file, image folder)");
  c.split_option = cmd.add_option("--calib-split", c.split, "train | val | test (IDX directories)")
                       ->capture_default_str();
  c.limit_option = cmd.add_option(names("--calib-images", limit_alias), c.limit,
                                  "only the first N calibration images")
                       ->capture_default_str()
                       ->check(CLI::Range(int64_t(1), int64_t(1) << 30));
  if (pre) add_preprocess_flags(cmd, *pre);
}

void apply_preprocess_flags(const PreprocessFlags& pre, Preprocessing& p) {
  if (!pre.file.empty()) {
    const Preprocessing file = read_preprocessing(pre.file);
    p.resize = file.resize;
    p.center_crop = file.center_crop;
    p.order = file.order;
    p.layout = file.layout;
    if (!file.norm.mean.empty()) p.norm.mean = file.norm.mean;
    if (!file.norm.std.empty()) p.norm.std = file.norm.std;
  }
  if (!pre.resize.empty()) p.resize = pre.resize;
  if (!pre.center_crop.empty()) p.center_crop = pre.center_crop;
  if (!pre.mean.empty()) p.norm.mean = floats(pre.mean);
  if (!pre.std.empty()) p.norm.std = floats(pre.std);
  if (pre.bgr) p.order = ChannelOrder::kBgr;
  if (pre.nhwc) p.layout = Layout::kNhwc;
}

DataSpec data_spec(const DataFlags& f, const PreprocessFlags& pre, const Graph& model) {
  DataSpec s;
  s.source = f.source;
  s.labels = f.labels;
  s.limit = f.limit;
  const bool given = f.split_option && f.split_option->count() > 0;
  std::error_code ec;
  if (given || (!f.split.empty() && std::filesystem::is_directory(f.source, ec) &&
                detect_dir_kind(f.source) == DirKind::kIdx))
    s.split = parse_split(f.split);
  s.preprocessing.norm = model_normalization(model);
  apply_preprocess_flags(pre, s.preprocessing);
  return s;
}

std::string embedded_example_path() {
  const std::string rel = "examples/fashion_cnn.onnx";
  std::error_code ec;
  if (std::filesystem::exists(rel, ec)) return rel;
  return std::string(AC_SOURCE_DIR) + "/" + rel;
}

bool is_embedded_example(const std::string& model_sha256) {
  const std::string path = embedded_example_path();
  std::error_code ec;
  return std::filesystem::exists(path, ec) && sha256_file(path) == model_sha256;
}

}  // namespace autocompress::cli
