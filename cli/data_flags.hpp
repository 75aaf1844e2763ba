// The data flags every command that reads images shares, with the same words in --help: the
// data source (--data, --labels, --split, --limit), the calibration source (--calib,
// --calib-split, --calib-images) and the preprocessing (--preprocess FILE.json, --resize,
// --center-crop, --mean, --std, --bgr, --nhwc). They make a DataSpec (data/data_spec.hpp).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_spec.hpp"
#include "model/graph.hpp"

namespace autocompress::cli {

// The default data of the embedded example (data/data_spec.hpp), as search's config has it.
inline constexpr const char* kDefaultData = kDefaultDataDir;

struct PreprocessFlags {
  std::string file;  // --preprocess
  std::vector<int64_t> resize, center_crop;
  std::vector<double> mean, std;
  bool bgr = false, nhwc = false;
};

struct DataFlags {
  std::string source, labels, split;
  int64_t limit = 0;
  // Set by the add_*_flags below (labels_option: add_data_flags only), for given().
  const CLI::Option* split_option = nullptr;
  const CLI::Option* source_option = nullptr;
  const CLI::Option* labels_option = nullptr;
  const CLI::Option* limit_option = nullptr;
};
// True when `o` was given on the command line (false for a null option).
bool given(const CLI::Option* o);

// Older names a command keeps for its data flags (e.g. "--val-limit" for --limit); "" = none.
// They are further names of the same option, so --help lists them beside the flag.
struct DataAliases {
  std::string data, labels, limit;
};

// --data/-d, --labels, --split, --limit and the preprocessing flags on `cmd`. `data` keeps its
// value as the default; `split` is the split of an IDX directory when --split is not given.
void add_data_flags(CLI::App& cmd, DataFlags& data, PreprocessFlags& pre,
                    const DataAliases& aliases = {});
// --calib, --calib-split, --calib-images on `cmd`; the preprocessing flags too when `pre` is set
// (a command without --data). `limit_alias`: an older name of --calib-images, or "".
void add_calib_flags(CLI::App& cmd, DataFlags& calib, PreprocessFlags* pre,
                     const std::string& limit_alias = "");

// `p` with the fields the --preprocess file and the flags set (the flags over the file's).
void apply_preprocess_flags(const PreprocessFlags& pre, Preprocessing& p);

// The DataSpec of `f`: the preprocessing is the model's metadata normalization, overridden by
// the --preprocess file's fields, overridden by the flags. The split applies to IDX directories
// only: --split when given, else `f.split`.
DataSpec data_spec(const DataFlags& f, const PreprocessFlags& pre, const Graph& model);

// The embedded example model: examples/fashion_cnn.onnx from here, else the source tree's.
std::string embedded_example_path();
// True when `model_sha256` is the embedded example's hash (its default data is kDefaultData).
bool is_embedded_example(const std::string& model_sha256);

}  // namespace autocompress::cli
