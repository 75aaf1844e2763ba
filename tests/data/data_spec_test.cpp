#include "data/data_spec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/image_folder.hpp"
#include "tests/data/image_files.hpp"
#include "tests/data/test_files.hpp"
#include "tests/data/torchvision_fixture.hpp"

namespace autocompress {
namespace {

namespace fs = std::filesystem;
using testing::encode_jpeg;
using testing::encode_png;
using testing::error_message;
using testing::expect_contains;
using testing::pattern;
using testing::put;
using testing::TempDir;
using testing::write_raw;

// The ImageFolder fixture and torchvision's tensors of it, made once per run by
// tests/data/make_image_folder.py with Debian's python3-pil and python3-torchvision.
class Torchvision : public testing::TorchvisionFixture {
 protected:
  static std::vector<float> expected(const std::string& name) {
    return read_npy(dir_->file(name + ".npy")).f;
  }

  // Max |C++ - torchvision| over the tensors of transform set `name`, and the share of values
  // further apart than 1/255.
  static double max_diff(const DataSpec& spec, const Shape& input, const std::string& name,
                         const std::vector<float>& want) {
    const OpenedDataset o = open_dataset(spec, input);
    const Dataset ds = materialize(o.data);
    EXPECT_EQ(ds.images.size(), want.size());
    double worst = 0;
    int64_t far = 0;
    for (size_t i = 0; i < std::min(ds.images.size(), want.size()); ++i) {
      const double d = std::abs(double(ds.images[i]) - double(want[i]));
      worst = std::max(worst, d);
      far += d > 1.0 / 255 + 1e-6;
    }
    EXPECT_EQ(far, 0) << name;
    std::printf("[ torchvision ] %s: %zu values, max abs diff %.3g\n", name.c_str(), want.size(),
                worst);
    ::testing::Test::RecordProperty("max_abs_diff_" + name, std::to_string(worst));
    return worst;
  }
};

DataSpec rgb_spec(const std::string& source) {
  DataSpec s;
  s.source = source;
  s.preprocessing.resize = {24};
  s.preprocessing.center_crop = {20};
  s.preprocessing.norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  return s;
}

TEST_F(Torchvision, OrderAndLabelsAreImageFolders) {
  std::ifstream in(dir_->file("samples.txt"));
  std::vector<std::string> want;
  for (std::string line; std::getline(in, line);) want.push_back(line);
  const ImageList l = list_class_folders(folder());
  std::vector<std::string> got;
  for (const auto& f : l.files) got.push_back(fs::relative(f, folder()).string());
  EXPECT_EQ(got, want);
  const OpenedDataset o = open_dataset(rgb_spec(folder()), {1, 3, 20, 20});
  EXPECT_EQ(o.data.labels, read_npy(dir_->file("labels.npy")).i);
  EXPECT_EQ(o.kind, "class folders (3 classes, 9 images)");
}

TEST_F(Torchvision, RgbResizeCropNormalize) {
  EXPECT_LE(max_diff(rgb_spec(folder()), {1, 3, 20, 20}, "rgb", expected("rgb")), 1.0 / 255);
}

TEST_F(Torchvision, GrayscaleModel) {
  DataSpec s = rgb_spec(folder());
  s.preprocessing.norm = {{0.5f}, {0.25f}};
  EXPECT_LE(max_diff(s, {1, 1, 20, 20}, "gray", expected("gray")), 1.0 / 255);
}

TEST_F(Torchvision, ResizeToHeightWidthAndPaddedCrop) {
  DataSpec s;
  s.source = folder();
  s.preprocessing.resize = {19, 27};
  s.preprocessing.center_crop = {21, 25};
  EXPECT_LE(max_diff(s, {1, 3, 21, 25}, "hw", expected("hw")), 1.0 / 255);
}

TEST_F(Torchvision, NhwcAndBgrAreTheSameValuesRearranged) {
  DataSpec s = rgb_spec(folder());
  s.preprocessing.norm = {{0.406f, 0.456f, 0.485f}, {0.225f, 0.224f, 0.229f}};  // BGR order
  s.preprocessing.layout = Layout::kNhwc;
  s.preprocessing.order = ChannelOrder::kBgr;
  const std::vector<float> nchw = expected("rgb");
  std::vector<float> want(nchw.size());
  const int64_t plane = 20 * 20;
  for (int64_t n = 0; n < 9; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < plane; ++i)
        want[size_t((n * plane + i) * 3 + (2 - c))] = nchw[size_t((n * 3 + c) * plane + i)];
  EXPECT_LE(max_diff(s, {1, 20, 20, 3}, "nhwc_bgr", want), 1.0 / 255);
}

TEST_F(Torchvision, StreamedEqualsCached) {
  DataSpec s = rgb_spec(folder());
  const Dataset all = materialize(open_dataset(s, {1, 3, 20, 20}).data);
  for (int64_t bytes : {int64_t(0), int64_t(3 * 3 * 20 * 20 + 5)}) {
    s.cache_bytes = bytes;
    const OpenedDataset o = open_dataset(s, {1, 3, 20, 20});
    EXPECT_EQ(dynamic_cast<const ImageSource&>(*o.data.stream).cached(), bytes ? 3 : 0);
    std::vector<float> part(size_t(4 * 3 * 20 * 20));
    o.data.read(2, 4, part);  // crosses the cached / streamed boundary
    EXPECT_TRUE(std::equal(part.begin(), part.end(), all.images.begin() + 2 * 3 * 20 * 20));
  }
  s.limit = 4;
  EXPECT_EQ(open_dataset(s, {1, 3, 20, 20}).data.size(), 4);
}

TEST(OpenDataset, CorruptImageNamesTheFile) {
  TempDir d;
  put(d, "cat/good.png", encode_png(pattern(8, 8, 3)));
  const std::string jpeg = encode_jpeg(pattern(8, 8, 3));
  const std::string bad = put(d, "dog/cut.jpg", jpeg.substr(0, jpeg.size() / 3));
  DataSpec s;
  s.source = d.str();
  expect_contains(error_message<DataError>([&] { open_dataset(s, {1, 3, 8, 8}); }), bad);
  s.cache_bytes = 0;  // streamed: the error comes with the batch that reads it
  const OpenedDataset o = open_dataset(s, {1, 3, 8, 8});
  std::vector<float> out(2 * 3 * 8 * 8);
  expect_contains(error_message<DataError>([&] { o.data.read(0, 2, out); }), bad);
}

TEST(OpenDataset, MixedSizesWithoutResizeNameTheFile) {
  TempDir d;
  put(d, "a.png", encode_png(pattern(8, 8, 3)));
  const std::string odd = put(d, "b.png", encode_png(pattern(9, 8, 3)));
  DataSpec s;
  s.source = d.str();
  const std::string msg = error_message<DataError>([&] { open_dataset(s, {1, 3, 8, 8}); });
  expect_contains(msg, odd);
  expect_contains(msg, "9x8");
}

TEST(OpenDataset, FlatFolderWithAndWithoutLabels) {
  TempDir d, l;
  put(d, "b.png", encode_png(pattern(6, 5, 1)));
  put(d, "a.jpg", encode_jpeg(pattern(6, 5, 3)));
  DataSpec s;
  s.source = d.str();
  OpenedDataset o = open_dataset(s, {1, 1, 5, 6});
  EXPECT_EQ(o.data.size(), 2);
  EXPECT_FALSE(o.data.has_labels());
  EXPECT_EQ(o.kind, "flat images (2 images, no labels)");
  s.labels =
      write_raw(l.file("y.npy"), testing::npy_bytes("{'descr': '<i8', 'fortran_order': False, "
                                                    "'shape': (2,), }",
                                                    testing::le_bytes<int64_t>({4, 1})));
  EXPECT_EQ(open_dataset(s, {1, 1, 5, 6}).data.labels, (std::vector<int64_t>{4, 1}));
  s.labels = write_raw(l.file("y3.npy"), testing::npy_bytes("{'descr': '<i8', 'fortran_order': "
                                                            "False, 'shape': (3,), }",
                                                            testing::le_bytes<int64_t>({4, 1, 0})));
  const std::string msg = error_message<DataError>([&] { open_dataset(s, {1, 1, 5, 6}); });
  expect_contains(msg, "3 labels for 2 images");
}

TEST(OpenDataset, BadDirectoriesAndChannels) {
  TempDir empty, mixed, classes;
  DataSpec s;
  s.source = empty.str();
  expect_contains(error_message<DataError>([&] { open_dataset(s, {1, 3, 8, 8}); }), "is empty");
  put(mixed, "a.png", encode_png(pattern(8, 8, 3)));
  put(mixed, "cat/b.png", encode_png(pattern(8, 8, 3)));
  s.source = mixed.str();
  expect_contains(error_message<DataError>([&] { open_dataset(s, {1, 3, 8, 8}); }), "mixes");
  put(classes, "cat/b.png", encode_png(pattern(8, 8, 3)));
  s.source = classes.str();
  expect_contains(error_message<DataError>([&] {
                    open_dataset(s, {1, 2, 8, 8});
                  }),
                  "1 (gray) or 3 (RGB)");
  s.split = Split::kTest;
  EXPECT_THROW(open_dataset(s, {1, 3, 8, 8}), UsageError);
  s.source = empty.file("missing");
  expect_contains(error_message<DataError>([&] { open_dataset(s, {1, 3, 8, 8}); }), "not found");
}

TEST(OpenDataset, ArrayFileAsBefore) {
  TempDir d;
  const std::string x = write_raw(
      d.file("x.npy"),
      testing::npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 2, 2), }",
                         std::string("\x00\xff\x00\xff\x00\x00\xff\xff", 8)));
  DataSpec s;
  s.source = x;
  const OpenedDataset o = open_dataset(s, {1, 1, 2, 2});
  EXPECT_EQ(o.kind, "array file");
  EXPECT_EQ(o.data.images, (std::vector<float>{0, 1, 0, 1, 0, 0, 1, 1}));
  EXPECT_THROW(open_dataset(s, {1, 1, 3, 3}), DataError);
}

}  // namespace
}  // namespace autocompress
