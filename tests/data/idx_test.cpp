#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress {
namespace {

using namespace std::string_literals;

using testing::be32;
using testing::error_message;
using testing::idx_bytes;
using testing::TempDir;
using testing::write_gz;
using testing::write_raw;

std::string be_bytes(uint64_t v, int size) {
  std::string s;
  for (int k = size - 1; k >= 0; --k) s += static_cast<char>(v >> (8 * k));
  return s;
}

TEST(ReadIdx, Uint8ImagesRaw) {
  TempDir dir;
  const std::string data = {0,  1,  2,  127, static_cast<char>(128), static_cast<char>(255), 10, 11,
                            12, 13, 14, 15};
  const Array a = read_idx(write_raw(dir.file("images"), idx_bytes(0x08, {2, 2, 3}, data)));
  EXPECT_EQ(a.dtype, DType::kUInt8);
  EXPECT_EQ(a.shape, (Shape{2, 2, 3}));
  EXPECT_EQ(a.i, (std::vector<int64_t>{0, 1, 2, 127, 128, 255, 10, 11, 12, 13, 14, 15}));
  EXPECT_TRUE(a.f.empty());
}

TEST(ReadIdx, Uint8LabelsGzip) {
  TempDir dir;
  const std::string data = {9, 0, 3, 7};
  const Array a = read_idx(write_gz(dir.file("labels.gz"), idx_bytes(0x08, {4}, data)));
  EXPECT_EQ(a.shape, (Shape{4}));
  EXPECT_EQ(a.i, (std::vector<int64_t>{9, 0, 3, 7}));
}

TEST(ReadIdx, GzipDetectedByContentNotName) {
  TempDir dir;
  const Array a = read_idx(write_gz(dir.file("plain-name"), idx_bytes(0x08, {1}, "\x05")));
  EXPECT_EQ(a.i, (std::vector<int64_t>{5}));
}

TEST(ReadIdx, SignedAndWideTypesAreBigEndian) {
  TempDir dir;
  const Array s8 = read_idx(write_raw(dir.file("s8"), idx_bytes(0x09, {2}, "\xff\x7f")));
  EXPECT_EQ(s8.dtype, DType::kInt8);
  EXPECT_EQ(s8.i, (std::vector<int64_t>{-1, 127}));

  const Array i16 = read_idx(
      write_raw(dir.file("i16"), idx_bytes(0x0B, {2}, be_bytes(0x0102, 2) + be_bytes(0xFFFE, 2))));
  EXPECT_EQ(i16.dtype, DType::kInt32);  // DType has no int16: widened
  EXPECT_EQ(i16.i, (std::vector<int64_t>{258, -2}));

  const Array i32 = read_idx(write_raw(
      dir.file("i32"), idx_bytes(0x0C, {2}, be_bytes(70000, 4) + be_bytes(0xFFFFFFFF, 4))));
  EXPECT_EQ(i32.dtype, DType::kInt32);
  EXPECT_EQ(i32.i, (std::vector<int64_t>{70000, -1}));

  const Array f32 = read_idx(
      write_raw(dir.file("f32"), idx_bytes(0x0D, {1, 2},
                                           be_bytes(std::bit_cast<uint32_t>(1.5f), 4) +
                                               be_bytes(std::bit_cast<uint32_t>(-0.1f), 4))));
  EXPECT_EQ(f32.dtype, DType::kFloat);
  EXPECT_EQ(f32.shape, (Shape{1, 2}));
  EXPECT_EQ(f32.f, (std::vector<float>{1.5f, -0.1f}));

  const Array f64 = read_idx(
      write_raw(dir.file("f64"), idx_bytes(0x0E, {1}, be_bytes(std::bit_cast<uint64_t>(0.1), 8))));
  EXPECT_EQ(f64.dtype, DType::kFloat);  // converted
  EXPECT_EQ(f64.f, (std::vector<float>{0.1f}));
}

TEST(ReadIdx, EmptyDimension) {
  TempDir dir;
  const Array a = read_idx(write_raw(dir.file("empty"), idx_bytes(0x08, {0, 28, 28}, "")));
  EXPECT_EQ(a.shape, (Shape{0, 28, 28}));
  EXPECT_TRUE(a.i.empty());
}

TEST(ReadIdx, BadMagicNamesFile) {
  TempDir dir;
  const std::string path = write_raw(dir.file("notidx.bin"), "\x93NUMPY\x01\x00 junk"s);
  const std::string msg = error_message<DataError>([&] { read_idx(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad magic"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x934E554D"), std::string::npos) << msg;

  const std::string tiny = write_raw(dir.file("tiny"), "\0\0"s);
  EXPECT_NE(error_message<DataError>([&] { read_idx(tiny); }).find("bad magic"), std::string::npos);
}

TEST(ReadIdx, UnknownTypeCode) {
  TempDir dir;
  const std::string path = write_raw(dir.file("t0a"), idx_bytes(0x0A, {1}, "\x01"));
  const std::string msg = error_message<DataError>([&] { read_idx(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x0A"), std::string::npos) << msg;
}

TEST(ReadIdx, TruncatedDataNamesBothSizes) {
  TempDir dir;
  const std::string path = write_raw(dir.file("cut"), idx_bytes(0x08, {10}, "12345"));
  const std::string msg = error_message<DataError>([&] { read_idx(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("needs 10 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("got 5"), std::string::npos) << msg;
}

TEST(ReadIdx, TruncatedWideType) {
  TempDir dir;
  const std::string path = write_raw(dir.file("cut32"), idx_bytes(0x0C, {3}, be_bytes(1, 4)));
  const std::string msg = error_message<DataError>([&] { read_idx(path); });
  EXPECT_NE(msg.find("needs 12 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("got 4"), std::string::npos) << msg;
}

TEST(ReadIdx, TruncatedHeader) {
  TempDir dir;
  const std::string path = write_raw(dir.file("hdr"), std::string("\0\0\x08\x03", 4) + be32(60000));
  const std::string msg = error_message<DataError>([&] { read_idx(path); });
  EXPECT_NE(msg.find("truncated header"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 16 bytes, got 8"), std::string::npos) << msg;
}

TEST(ReadIdx, HugeDimensionsDoNotOverflow) {
  TempDir dir;
  const std::string path =
      write_raw(dir.file("huge"), idx_bytes(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, "1234"));
  const std::string msg = error_message<DataError>([&] { read_idx(path); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(ReadIdx, TrailingData) {
  TempDir dir;
  const std::string path = write_raw(dir.file("long"), idx_bytes(0x08, {2}, "abc"));
  const std::string msg = error_message<DataError>([&] { read_idx(path); });
  EXPECT_NE(msg.find("trailing data"), std::string::npos) << msg;
}

TEST(ReadIdx, CorruptGzip) {
  TempDir dir;
  const std::string full = testing::read_raw(
      write_gz(dir.file("full.gz"), idx_bytes(0x08, {1000}, std::string(1000, 'x'))));
  const std::string path = write_raw(dir.file("cut.gz"), full.substr(0, full.size() - 12));
  const std::string msg = error_message<DataError>([&] { read_idx(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("gzip"), std::string::npos) << msg;
}

TEST(ReadIdx, MissingFileIsIoError) {
  TempDir dir;
  const std::string path = dir.file("absent");
  const std::string msg = error_message<IoError>([&] { read_idx(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(error_message<IoError>([&] { read_idx(dir.str()); }).find("is a directory"),
            std::string::npos);
}

}  // namespace
}  // namespace autocompress
