#include "data/data_spec.hpp"

#include <filesystem>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "data/image_folder.hpp"

namespace autocompress {

namespace {

Dataset image_dataset(const ImageList& list, const DataSpec& spec, const Shape& input_shape) {
  if (input_shape.empty()) throw UsageError("a model input has a batch dimension");
  std::vector<std::string> files = list.files;
  std::vector<int64_t> labels = list.labels;
  if (!spec.labels.empty()) {
    labels = read_labels(spec.labels);
    if (labels.size() != files.size())
      throw DataError(spec.labels, std::to_string(labels.size()) + " labels for " +
                                       std::to_string(files.size()) + " images in " + list.root);
  }
  if (spec.limit > 0 && spec.limit < int64_t(files.size())) {
    files.resize(size_t(spec.limit));
    if (!labels.empty()) labels.resize(size_t(spec.limit));
  }
  Dataset ds;
  ds.source = list.root;
  ds.sample_shape.assign(input_shape.begin() + 1, input_shape.end());
  ds.labels = std::move(labels);
  ds.stream = std::make_shared<const ImageSource>(std::move(files), spec.preprocessing,
                                                  ds.sample_shape, spec.cache_bytes);
  return ds;
}

void check_no_split(const DataSpec& spec, const std::string& kind) {
  if (spec.split)
    throw UsageError(spec.source + ": a split applies to IDX directories, not to " + kind);
}

}  // namespace

OpenedDataset open_dataset(const DataSpec& spec, const Shape& input_shape) {
  std::error_code ec;
  if (!std::filesystem::exists(spec.source, ec)) throw DataError(spec.source, "not found");
  const Normalization& norm = spec.preprocessing.norm;
  OpenedDataset out;
  if (!std::filesystem::is_directory(spec.source, ec)) {
    check_no_split(spec, "a file");
    out.data = load_images(spec.source, spec.labels, norm, spec.limit);
    out.kind = "array file";
  } else {
    switch (detect_dir_kind(spec.source)) {
      case DirKind::kIdx:
        if (!spec.labels.empty())
          throw UsageError(spec.source + ": an IDX directory holds its labels; no labels file");
        out.data = load_mnist_dir(spec.source, spec.split.value_or(Split::kVal), norm, spec.limit);
        out.kind = "IDX directory";
        break;
      case DirKind::kClassFolders: {
        check_no_split(spec, "class folders");
        if (!spec.labels.empty())
          throw UsageError(spec.source + ": class folders give the labels; no labels file");
        const ImageList list = list_class_folders(spec.source);
        out.data = image_dataset(list, spec, input_shape);
        out.kind = "class folders (" + std::to_string(list.classes.size()) + " classes, " +
                   std::to_string(list.files.size()) + " images)";
        break;
      }
      case DirKind::kFlatImages: {
        check_no_split(spec, "a folder of images");
        const ImageList list = list_flat_images(spec.source);
        out.data = image_dataset(list, spec, input_shape);
        out.kind = "flat images (" + std::to_string(list.files.size()) + " images, " +
                   (spec.labels.empty() ? "no labels" : "labels from " + spec.labels) + ")";
        break;
      }
    }
  }
  if (!out.data.stream) check_fits(out.data, input_shape);
  return out;
}

}  // namespace autocompress
