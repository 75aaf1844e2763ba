// The image files of a directory, in the order and with the labels torchvision gives them.
//
// Class folders (`DIR/<class>/...`), torchvision's ImageFolder rule (datasets/folder.py):
// - classes are the subdirectories of DIR (symbolic links followed), sorted by name (code point
//   order: "Zebra" before "cat"); class index = position in that order;
// - the samples of a class are every file below its folder, subfolders included, visited as
//   `sorted(os.walk(class_dir, followlinks=True))` (directories in path-string order, the files of
//   each sorted by name), keeping files whose lower-cased name ends in an image extension;
// - files directly in DIR are not samples; files without an image extension are ignored;
// - a class with no image file is an error (torchvision raises FileNotFoundError).
// We decode JPEG and PNG only: a file with another of torchvision's image extensions (.bmp,
// .ppm, .pgm, .tif, .tiff, .webp) is an error naming it, never skipped, so indices and labels stay
// those of ImageFolder.
// A flat folder (`DIR/*.{jpg,jpeg,png}`, no subfolder): its image files sorted by name, no labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace autocompress {

struct ImageList {
  std::string root;
  std::vector<std::string> files;    // full paths, in sample order
  std::vector<int64_t> labels;       // class index per file; empty for a flat folder
  std::vector<std::string> classes;  // class names by index; empty for a flat folder
};

// What a directory holds, by its contents.
enum class DirKind {
  kIdx,           // Fashion-MNIST-style: train- or t10k-images-idx3-ubyte[.gz]
  kClassFolders,  // subdirectories and no image file directly in it
  kFlatImages,    // image files and no subdirectory
};
// DataError naming `dir` and what it holds when it is none of these (empty, no image files,
// image files beside subdirectories) or cannot be read.
DirKind detect_dir_kind(const std::string& dir);
const char* dir_kind_name(DirKind kind);  // "IDX directory", "class folders", "flat images"

// ImageFolder's samples of `dir` (rule above); DataError for no class folder, an empty class or
// an image format we do not decode.
ImageList list_class_folders(const std::string& dir);
// The image files directly in `dir`, sorted by name; DataError when there is none.
ImageList list_flat_images(const std::string& dir);

// Whether `name` ends (case-insensitively) in one of torchvision's IMG_EXTENSIONS.
bool has_image_extension(const std::string& name);

}  // namespace autocompress
