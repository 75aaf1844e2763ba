#include "data/image_folder.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "tests/data/image_files.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress {
namespace {

namespace fs = std::filesystem;
using testing::encode_png;
using testing::error_message;
using testing::expect_contains;
using testing::pattern;
using testing::put;
using testing::TempDir;
using testing::write_raw;

std::vector<std::string> relative(const ImageList& l) {
  std::vector<std::string> out;
  for (const auto& f : l.files) out.push_back(fs::relative(f, l.root).string());
  return out;
}

TEST(ClassFolders, OrderAndLabelsAreImageFolders) {
  TempDir d;
  // Classes sort by code point ("B" < "a"); a class's folders are walked in path-string order,
  // so "a/x-y" ('-' is 0x2d) comes between "a/x" and "a/x/deep" ('/' is 0x2f). Checked against
  // torchvision's DatasetFolder on the same tree.
  for (const char* f : {"a/2.png", "a/10.JPG", "a/x/1.jpeg", "a/x/deep/3.png", "a/x-y/0.png",
                        "B/z.png", "c/only.jpg"})
    put(d, f);
  put(d, "a/notes.txt");
  put(d, "top.png");  // directly in the root: not a sample
  const ImageList l = list_class_folders(d.str());
  EXPECT_EQ(l.classes, (std::vector<std::string>{"B", "a", "c"}));
  EXPECT_EQ(relative(l), (std::vector<std::string>{"B/z.png", "a/10.JPG", "a/2.png", "a/x/1.jpeg",
                                                   "a/x-y/0.png", "a/x/deep/3.png", "c/only.jpg"}));
  EXPECT_EQ(l.labels, (std::vector<int64_t>{0, 1, 1, 1, 1, 1, 2}));
}

TEST(ClassFolders, EmptyClassIsAnErrorNamingIt) {
  TempDir d;
  put(d, "cat/1.png");
  put(d, "dog/readme.txt");
  fs::create_directories(d.file("emu"));
  const std::string msg = error_message<DataError>([&] { list_class_folders(d.str()); });
  expect_contains(msg, d.str());
  expect_contains(msg, "dog, emu");
}

TEST(ClassFolders, UndecodedImageFormatIsAnErrorNotSkipped) {
  TempDir d;
  put(d, "cat/1.png");
  const std::string bmp = put(d, "cat/2.BMP");
  const std::string msg = error_message<DataError>([&] { list_class_folders(d.str()); });
  expect_contains(msg, bmp);
  expect_contains(msg, "JPEG and PNG");
}

TEST(FlatImages, SortedByNameWithoutLabels) {
  TempDir d;
  for (const char* f : {"b.png", "A.jpg", "c.JPEG", "d.txt"}) put(d, f);
  const ImageList l = list_flat_images(d.str());
  EXPECT_EQ(relative(l), (std::vector<std::string>{"A.jpg", "b.png", "c.JPEG"}));
  EXPECT_TRUE(l.labels.empty());
}

TEST(DetectDirKind, EachKind) {
  TempDir idx, classes, flat;
  put(idx, "t10k-images-idx3-ubyte.gz");
  put(classes, "cat/1.png");
  put(flat, "1.png");
  EXPECT_EQ(detect_dir_kind(idx.str()), DirKind::kIdx);
  EXPECT_EQ(detect_dir_kind(classes.str()), DirKind::kClassFolders);
  EXPECT_EQ(detect_dir_kind(flat.str()), DirKind::kFlatImages);
  EXPECT_STREQ(dir_kind_name(DirKind::kClassFolders), "class folders");
}

TEST(DetectDirKind, NoneOfThemSaysWhatWasFound) {
  TempDir empty, text, mixed;
  put(text, "a.txt");
  put(text, "b.csv");
  put(mixed, "1.png");
  put(mixed, "cat/2.png");
  std::string msg = error_message<DataError>([&] { detect_dir_kind(empty.str()); });
  expect_contains(msg, empty.str());
  expect_contains(msg, "is empty");
  msg = error_message<DataError>([&] { detect_dir_kind(text.str()); });
  expect_contains(msg, "2 other file(s)");
  expect_contains(msg, "class folders");
  msg = error_message<DataError>([&] { detect_dir_kind(mixed.str()); });
  expect_contains(msg, mixed.str());
  expect_contains(msg, "1 image file(s), 0 other file(s) and 1 subfolder(s)");
  msg = error_message<DataError>([&] { detect_dir_kind(empty.file("missing")); });
  expect_contains(msg, "not a directory");
}

}  // namespace
}  // namespace autocompress
