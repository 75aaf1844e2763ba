// One description of the data a command reads, and the one function that opens it: an IDX
// directory (Fashion-MNIST-style, with a split), an .npy or IDX file (with an optional labels
// file), class folders of images (torchvision's ImageFolder rule, see image_folder.hpp) or a
// flat folder of images (no labels). The kind is detected from the path's contents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "data/dataset.hpp"
#include "data/image_source.hpp"
#include "data/preprocess.hpp"

namespace autocompress {

// Where Debian's Fashion-MNIST package puts its IDX files: the default data of the embedded
// example.
inline constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

struct DataSpec {
  std::string source;           // file or directory
  std::string labels;           // labels file (.npy / IDX) for an images file or flat folder
  std::optional<Split> split;   // IDX directories only (default val)
  int64_t limit = 0;            // > 0: the first `limit` samples
  Preprocessing preprocessing;  // images: everything; .npy / IDX: only the normalization
  int64_t cache_bytes = kDefaultImageCacheBytes;  // bound of the decoded-image cache
};

struct OpenedDataset {
  Dataset data;
  std::string kind;  // what was detected, for progress output: "class folders (10 classes)", ...
};

// The data of `spec` as samples for a model whose input is `input_shape` (with its batch).
// Images are decoded to it (preprocessing.layout says whether that is NCHW or NHWC) and streamed
// (`Dataset::stream` set); other sources are read whole and must fit it (check_fits).
// DataError naming the path and what was found for a source of no known kind, or any bad input;
// UsageError for a split or labels file given where it does not apply.
OpenedDataset open_dataset(const DataSpec& spec, const Shape& input_shape);

}  // namespace autocompress
