#include "data/image_folder.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace autocompress {

namespace fs = std::filesystem;

namespace {

// torchvision's IMG_EXTENSIONS, and the ones of them we decode.
const std::vector<std::string> kImageExtensions = {".jpg", ".jpeg", ".png",  ".ppm", ".bmp",
                                                   ".pgm", ".tif",  ".tiff", ".webp"};
const std::vector<std::string> kDecoded = {".jpg", ".jpeg", ".png"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool ends_with_any(const std::string& name, const std::vector<std::string>& exts) {
  const std::string l = lower(name);
  return std::any_of(exts.begin(), exts.end(),
                     [&](const std::string& e) { return l.ends_with(e); });
}

// The entries of `dir` split as os.walk splits them: directories (links followed) and the rest.
struct Entries {
  std::vector<std::string> dirs, files;  // names, sorted
};

Entries entries(const fs::path& dir) {
  Entries e;
  std::error_code ec;
  fs::directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  if (ec) throw DataError(dir.string(), "cannot read directory: " + ec.message());
  for (const fs::directory_entry& d : it) {
    std::error_code dec;
    (d.is_directory(dec) ? e.dirs : e.files).push_back(d.path().filename().string());
  }
  std::sort(e.dirs.begin(), e.dirs.end());
  std::sort(e.files.begin(), e.files.end());
  return e;
}

// `dir` and every directory below it (links followed, each real directory once), as path
// strings sorted the way Python sorts os.walk's roots.
std::vector<std::string> walk_dirs(const fs::path& dir) {
  std::vector<std::string> out;
  std::set<fs::path> seen;
  std::vector<fs::path> todo = {dir};
  while (!todo.empty()) {
    const fs::path d = todo.back();
    todo.pop_back();
    std::error_code ec;
    const fs::path real = fs::canonical(d, ec);
    if (!ec && !seen.insert(real).second) continue;  // a link back to a directory already seen
    out.push_back(d.string());
    for (const std::string& sub : entries(d).dirs) todo.push_back(d / sub);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// `path` as a sample: kept when it has an image extension; DataError when that format is not
// one we decode.
bool keep_sample(const std::string& path) {
  if (!has_image_extension(path)) return false;
  if (!ends_with_any(path, kDecoded))
    throw DataError(path,
                    "image format not supported: only JPEG and PNG files (.jpg, .jpeg, "
                    ".png) are decoded; convert or remove this file");
  return true;
}

}  // namespace

bool has_image_extension(const std::string& name) { return ends_with_any(name, kImageExtensions); }

DirKind detect_dir_kind(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DataError(dir, "not a directory");
  for (const char* split : {"train", "t10k"})
    for (const char* gz : {"", ".gz"})
      if (fs::exists(fs::path(dir) / (std::string(split) + "-images-idx3-ubyte" + gz), ec))
        return DirKind::kIdx;
  const Entries e = entries(dir);
  const auto images = std::count_if(e.files.begin(), e.files.end(), has_image_extension);
  const std::string found = std::to_string(images) + " image file(s), " +
                            std::to_string(int64_t(e.files.size()) - images) +
                            " other file(s) and " + std::to_string(e.dirs.size()) + " subfolder(s)";
  if (images > 0 && e.dirs.empty()) return DirKind::kFlatImages;
  if (images == 0 && !e.dirs.empty()) return DirKind::kClassFolders;
  if (images > 0)
    throw DataError(dir, "mixes image files and subfolders (" + found +
                             "): expected either class folders (DIR/<class>/*.jpg|png) or a flat "
                             "folder of images, not both");
  throw DataError(dir, std::string(e.files.empty() ? "is empty" : "holds no image") + " (" + found +
                           "): expected a Fashion-MNIST-style IDX directory "
                           "(train-images-idx3-ubyte[.gz], ...), class folders "
                           "(DIR/<class>/*.jpg|jpeg|png) or a folder of .jpg/.jpeg/.png images");
}

const char* dir_kind_name(DirKind kind) {
  switch (kind) {
    case DirKind::kIdx:
      return "IDX directory";
    case DirKind::kClassFolders:
      return "class folders";
    case DirKind::kFlatImages:
      return "flat images";
  }
  return "?";
}

ImageList list_class_folders(const std::string& dir) {
  ImageList list;
  list.root = dir;
  list.classes = entries(dir).dirs;
  if (list.classes.empty())
    throw DataError(dir, "no class folder (expected DIR/<class>/*.jpg|png)");
  std::vector<std::string> empty;
  for (size_t c = 0; c < list.classes.size(); ++c) {
    const size_t before = list.files.size();
    for (const std::string& d : walk_dirs(fs::path(dir) / list.classes[c]))
      for (const std::string& f : entries(d).files) {
        const std::string path = (fs::path(d) / f).string();
        if (!keep_sample(path)) continue;
        list.files.push_back(path);
        list.labels.push_back(int64_t(c));
      }
    if (list.files.size() == before) empty.push_back(list.classes[c]);
  }
  if (!empty.empty()) {
    std::string names;
    for (const auto& n : empty) names += (names.empty() ? "" : ", ") + n;
    throw DataError(dir, "no image file (.jpg, .jpeg, .png) in the class folder(s) " + names +
                             " (ImageFolder needs at least one per class)");
  }
  return list;
}

ImageList list_flat_images(const std::string& dir) {
  ImageList list;
  list.root = dir;
  for (const std::string& f : entries(dir).files) {
    const std::string path = (fs::path(dir) / f).string();
    if (keep_sample(path)) list.files.push_back(path);
  }
  if (list.files.empty()) throw DataError(dir, "no image file (.jpg, .jpeg, .png)");
  return list;
}

}  // namespace autocompress
