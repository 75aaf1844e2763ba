#include "data/dataset.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress {
namespace {

using namespace std::string_literals;

using testing::error_message;
using testing::expect_contains;
using testing::idx_bytes;
using testing::le_bytes;
using testing::npy_bytes;
using testing::read_raw;
using testing::TempDir;
using testing::write_gz;
using testing::write_raw;

const char* const kFashion = "/usr/share/datasets/fashion-mnist";
const Normalization kFashionNorm{{0.2860f}, {0.3530f}};

std::string npy(const std::string& descr, const Shape& shape, const std::string& data) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ",";
  return npy_bytes("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + ")}",
                   data);
}

TEST(ParseSplit, Names) {
  EXPECT_EQ(parse_split("train"), Split::kTrain);
  EXPECT_EQ(parse_split("val"), Split::kVal);
  EXPECT_EQ(parse_split("test"), Split::kTest);
  expect_contains(error_message<UsageError>([] { parse_split("validation"); }), "'validation'");
}

// torchvision's ToTensor + Normalize in float32; 0x3e6fb098 was computed with float32 rounding
// after each operation. Multiplying by 1/std instead would give 0x3e6fb099.
TEST(LoadImages, Uint8NormalizationIsBitExact) {
  TempDir dir;
  const std::string path =
      write_raw(dir.file("one.npy"), npy("|u1", {1, 1, 1}, std::string(1, '\x5e')));  // 94
  const Dataset ds = load_images(path, "", kFashionNorm);
  ASSERT_EQ(ds.images.size(), 1u);
  EXPECT_EQ(std::bit_cast<uint32_t>(ds.images[0]), 0x3e6fb098u);
}

TEST(LoadImages, Rank3Uint8GetsChannelAndScaling) {
  TempDir dir;
  const std::string pixels = {
      0, 1, 2, 3, 4, 5, 6, 7, static_cast<char>(200), 9, 10, static_cast<char>(255)};
  const std::string images = write_raw(dir.file("x.npy"), npy("|u1", {2, 2, 3}, pixels));
  const std::string labels =
      write_raw(dir.file("y.npy"), npy("<i8", {2}, le_bytes<int64_t>({3, 7})));
  const Dataset ds = load_images(images, labels, {{0.5f}, {0.25f}});
  EXPECT_EQ(ds.source, images);
  EXPECT_EQ(ds.sample_shape, (Shape{1, 2, 3}));
  EXPECT_EQ(ds.size(), 2);
  ASSERT_EQ(ds.images.size(), 12u);
  for (size_t k = 0; k < 12; ++k) {
    const float x = static_cast<float>(static_cast<unsigned char>(pixels[k])) / 255.0f;
    EXPECT_EQ(ds.images[k], (x - 0.5f) / 0.25f) << k;
  }
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{3, 7}));
  EXPECT_TRUE(ds.has_labels());
}

TEST(LoadImages, NoNormalizationMeansScaledPixels) {
  TempDir dir;
  const Dataset ds =
      load_images(write_raw(dir.file("x.npy"), npy("|u1", {1, 1, 2}, "\x00\xff"s)), "", {});
  EXPECT_EQ(ds.images, (std::vector<float>{0.0f, 1.0f}));
  EXPECT_FALSE(ds.has_labels());
}

TEST(LoadImages, Rank4FloatPerChannel) {
  TempDir dir;
  const std::vector<float> x = {1, 3, 2, 6, 3, 11};  // [1,3,1,2]
  const std::string images = write_raw(dir.file("x.npy"), npy("<f4", {1, 3, 1, 2}, le_bytes(x)));
  const Dataset ds = load_images(images, "", {{1, 2, 3}, {2, 4, 8}});
  EXPECT_EQ(ds.sample_shape, (Shape{3, 1, 2}));
  EXPECT_EQ(ds.images, (std::vector<float>{0, 1, 0, 1, 0, 1}));
  // Floats are taken as they are (no /255) and one value applies to every channel.
  const Dataset one = load_images(images, "", {{1}, {2}});
  EXPECT_EQ(one.images, (std::vector<float>{0, 1, 0.5f, 2.5f, 1, 5}));
}

TEST(LoadImages, NormalizationSizeMustBeOneOrChannels) {
  TempDir dir;
  const std::string images =
      write_raw(dir.file("x.npy"), npy("<f4", {1, 3, 1, 1}, le_bytes<float>({1, 2, 3})));
  const std::string msg = error_message<UsageError>([&] {
    load_images(images, "", {{1, 2}, {1}});
  });
  expect_contains(msg, "mean has 2 values");
  expect_contains(msg, "expected 1 or 3");
  EXPECT_THROW(load_images(images, "", {{}, {1, 2, 3, 4}}), UsageError);
  EXPECT_THROW(load_images(images, "", {{0}, {0}}), UsageError);
}

TEST(LoadImages, ContentDecidesFormat) {
  TempDir dir;
  // gzip-compressed .npy under a name that says nothing; IDX images with .npy labels.
  const std::string images = write_gz(dir.file("images.bin"), npy("|u1", {2, 1, 1}, "\x00\xff"s));
  const std::string labels = write_raw(dir.file("labels"), idx_bytes(0x08, {2}, "\x04\x05"));
  Dataset ds = load_images(images, labels, {});
  EXPECT_EQ(ds.images, (std::vector<float>{0.0f, 1.0f}));
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{4, 5}));

  const std::string idx_images =
      write_gz(dir.file("i.gz"), idx_bytes(0x08, {2, 1, 1}, "\xff\x00"s));
  const std::string npy_labels =
      write_raw(dir.file("l.npy"), npy("<i4", {2}, le_bytes<int32_t>({1, 2})));
  ds = load_images(idx_images, npy_labels, {});
  EXPECT_EQ(ds.sample_shape, (Shape{1, 1, 1}));
  EXPECT_EQ(ds.images, (std::vector<float>{1.0f, 0.0f}));
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{1, 2}));
}

TEST(LoadImages, LabelTypes) {
  TempDir dir;
  const std::string images = write_raw(dir.file("x.npy"), npy("|u1", {2, 1, 1}, "\x01\x02"));
  const auto labels_of = [&](const std::string& bytes) {
    return load_images(images, write_raw(dir.file("y.npy"), bytes), {}).labels;
  };
  EXPECT_EQ(labels_of(npy("|u1", {2}, "\x09\x00"s)), (std::vector<int64_t>{9, 0}));
  EXPECT_EQ(labels_of(npy("<i4", {2}, le_bytes<int32_t>({1, 2}))), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(labels_of(npy("<i8", {2, 1}, le_bytes<int64_t>({5, 6}))), (std::vector<int64_t>{5, 6}));
  expect_contains(error_message<DataError>([&] {
                    labels_of(npy("<f4", {2}, le_bytes<float>({1, 2})));
                  }),
                  "labels must be integers");
  expect_contains(error_message<DataError>([&] {
                    labels_of(npy("<i4", {2}, le_bytes<int32_t>({1, -3})));
                  }),
                  "label -3 at index 1 is negative");
  expect_contains(error_message<DataError>([&] {
                    labels_of(npy("<i4", {1, 2}, le_bytes<int32_t>({1, 2})));
                  }),
                  "one per sample");
}

TEST(LoadImages, IntegerImagesOtherThanUint8Rejected) {
  TempDir dir;
  const std::string images =
      write_raw(dir.file("x.npy"), npy("<i4", {1, 1, 1}, le_bytes<int32_t>({7})));
  expect_contains(error_message<DataError>([&] { load_images(images, "", {}); }),
                  "images of dtype int32 are not supported");
}

TEST(LoadImages, LabelCountMismatchNamesBothCountsAndFiles) {
  TempDir dir;
  const std::string images = write_raw(dir.file("imgs.npy"), npy("|u1", {3, 1, 1}, "abc"));
  const std::string labels = write_raw(dir.file("lbls.npy"), npy("|u1", {2}, "\x01\x02"));
  const std::string msg = error_message<DataError>([&] { load_images(images, labels, {}); });
  expect_contains(msg, "2 labels");
  expect_contains(msg, "3 images");
  expect_contains(msg, images);
  expect_contains(msg, labels);
}

TEST(LoadImages, LimitKeepsFirstSamples) {
  TempDir dir;
  const std::string images = write_raw(dir.file("x.npy"), npy("|u1", {3, 1, 1}, "\x00\xff\x00"s));
  const std::string labels = write_raw(dir.file("y.npy"), npy("|u1", {3}, "\x01\x02\x03"));
  Dataset ds = load_images(images, labels, {}, 2);
  EXPECT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.images, (std::vector<float>{0.0f, 1.0f}));
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(load_images(images, labels, {}, 10).size(), 3);
}

TEST(LoadImages, MissingFileNamesPath) {
  TempDir dir;
  const std::string path = dir.file("nope.npy");
  expect_contains(error_message<IoError>([&] { load_images(path, "", {}); }), path);
}

TEST(CheckFits, MatchAndMismatch) {
  Dataset ds;
  ds.source = "imgs.npy";
  ds.sample_shape = {1, 28, 28};
  EXPECT_NO_THROW(check_fits(ds, {kBatch, 1, 28, 28}));
  const std::string msg = error_message<DataError>([&] { check_fits(ds, {kBatch, 3, 32, 32}); });
  expect_contains(msg, "data sample shape [1,28,28] does not fit model input [N,3,32,32]");
  expect_contains(msg, "imgs.npy");
  EXPECT_THROW(check_fits(ds, {kBatch, 784}), DataError);
  EXPECT_THROW(check_fits(ds, {}), DataError);
}

// A Fashion-MNIST-style directory with tiny 1x2 images: 50002 training images (raw IDX) so that
// val holds two, and three test images (gzip IDX).
class MnistDir : public ::testing::Test {
 protected:
  static std::string pixels(int64_t n) {
    std::string s;
    for (int64_t k = 0; k < 2 * n; ++k) s += static_cast<char>(k % 251);
    return s;
  }
  static std::string labels(int64_t n) {
    std::string s;
    for (int64_t k = 0; k < n; ++k) s += static_cast<char>(k % 10);
    return s;
  }
  void write(const std::string& prefix, int64_t n, bool gz) {
    const auto put = gz ? write_gz : write_raw;
    const std::string suffix = gz ? ".gz" : "";
    put(dir_.file(prefix + "-images-idx3-ubyte" + suffix),
        idx_bytes(0x08, {uint32_t(n), 1, 2}, pixels(n)));
    put(dir_.file(prefix + "-labels-idx1-ubyte" + suffix),
        idx_bytes(0x08, {uint32_t(n)}, labels(n)));
  }
  TempDir dir_;
};

TEST_F(MnistDir, SplitRule) {
  write("train", 50002, false);
  write("t10k", 3, true);
  const Dataset train = load_mnist_dir(dir_.str(), Split::kTrain, {});
  EXPECT_EQ(train.size(), 50000);
  EXPECT_EQ(train.sample_shape, (Shape{1, 1, 2}));
  EXPECT_EQ(train.labels.size(), 50000u);
  EXPECT_EQ(train.labels.back(), 49999 % 10);

  const Dataset val = load_mnist_dir(dir_.str(), Split::kVal, {});
  EXPECT_EQ(val.size(), 2);
  EXPECT_EQ(val.labels, (std::vector<int64_t>{0, 1}));  // images 50000 and 50001
  EXPECT_EQ(val.images[0], static_cast<float>(100000 % 251) / 255.0f);
  expect_contains(val.source, "(val)");

  const Dataset test = load_mnist_dir(dir_.str(), Split::kTest, {}, 2);
  EXPECT_EQ(test.size(), 2);
  EXPECT_EQ(test.labels, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(load_mnist_dir(dir_.str(), Split::kVal, {}, 1).size(), 1);
}

TEST_F(MnistDir, TooFewTrainingImages) {
  write("train", 50000, true);
  EXPECT_EQ(load_mnist_dir(dir_.str(), Split::kTrain, {}).size(), 50000);
  const std::string msg =
      error_message<DataError>([&] { load_mnist_dir(dir_.str(), Split::kVal, {}); });
  expect_contains(msg, "has 50000 images; the val split needs at least 50001");
}

TEST_F(MnistDir, MissingFileNamesPath) {
  write("train", 50001, false);
  const std::string msg =
      error_message<IoError>([&] { load_mnist_dir(dir_.str(), Split::kTest, {}); });
  expect_contains(msg, dir_.file("t10k-images-idx3-ubyte") + "[.gz]");
}

TEST_F(MnistDir, LabelCountMismatch) {
  write("t10k", 3, false);
  write_raw(dir_.file("t10k-labels-idx1-ubyte"), idx_bytes(0x08, {2}, "\x01\x02"));
  const std::string msg =
      error_message<DataError>([&] { load_mnist_dir(dir_.str(), Split::kTest, {}); });
  expect_contains(msg, "2 labels for 3 images");
}

class FashionMnist : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kFashion)) GTEST_SKIP() << kFashion << " not installed";
  }
};

TEST_F(FashionMnist, SplitSizes) {
  const Dataset train = load_mnist_dir(kFashion, Split::kTrain, kFashionNorm);
  EXPECT_EQ(train.size(), 50000);
  EXPECT_EQ(train.labels.size(), 50000u);
  EXPECT_EQ(train.sample_shape, (Shape{1, 28, 28}));
  EXPECT_EQ(train.labels[0], 9);  // ankle boot
  EXPECT_EQ(load_mnist_dir(kFashion, Split::kVal, kFashionNorm).size(), 10000);
  const Dataset test = load_mnist_dir(kFashion, Split::kTest, kFashionNorm);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(test.labels[0], 9);
}

TEST_F(FashionMnist, ValStartsAtTrainImage50000) {
  const Dataset val = load_mnist_dir(kFashion, Split::kVal, kFashionNorm, 1);
  ASSERT_EQ(val.size(), 1);
  const Array train_labels =
      read_idx(std::string(kFashion) + "/train-labels-idx1-ubyte.gz");  // all 60000
  ASSERT_EQ(train_labels.i.size(), 60000u);
  EXPECT_EQ(val.labels[0], train_labels.i[50000]);
  EXPECT_EQ(val.labels[0], 9);
  // Pixel (4, 19) of training image 50000 is 94: normalized bit for bit as torch does it.
  EXPECT_EQ(std::bit_cast<uint32_t>(val.images[4 * 28 + 19]), 0x3e6fb098u);
  EXPECT_EQ(val.images[0], (0.0f - 0.2860f) / 0.3530f);
}

}  // namespace
}  // namespace autocompress
