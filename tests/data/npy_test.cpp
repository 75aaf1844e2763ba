#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress {
namespace {

using namespace std::string_literals;

using testing::error_message;
using testing::expect_contains;
using testing::le_bytes;
using testing::npy_bytes;
using testing::read_raw;
using testing::TempDir;
using testing::write_gz;
using testing::write_raw;

static_assert(std::endian::native == std::endian::little, "le_bytes assumes a little-endian host");

std::vector<uint32_t> bits(const std::vector<float>& v) {
  std::vector<uint32_t> b;
  for (float x : v) b.push_back(std::bit_cast<uint32_t>(x));
  return b;
}

TEST(Npy, RoundTripKeepsShapeAndBits) {
  TempDir dir;
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<std::pair<Shape, std::vector<float>>> cases = {
      {{}, {3.25f}},
      {{5}, {0.0f, -0.0f, 1e-45f, -inf, std::nanf("")}},
      {{2, 3}, {1, 2, 3, 4, 5, 6}},
      {{0, 4}, {}},
      {{2, 1, 2, 3}, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 1.1f, 1.2f}},
  };
  for (const auto& [shape, values] : cases) {
    const std::string path = dir.file("a" + shape_str(shape) + ".npy");
    write_npy(path, shape, values);
    const Array a = read_npy(path);
    EXPECT_EQ(a.dtype, DType::kFloat) << path;
    EXPECT_EQ(a.shape, shape) << path;
    EXPECT_EQ(bits(a.f), bits(values)) << path;
    EXPECT_TRUE(a.i.empty());
  }
}

TEST(Npy, WriteProducesNumpysExactHeader) {
  TempDir dir;
  const std::string path = dir.file("x.npy");
  write_npy(path, {2, 3}, std::vector<float>(6, 1.0f));
  const std::string bytes = read_raw(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len =
      static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(bytes.size(), 10 + header_len + 6 * 4);
  const std::string header = bytes.substr(10, header_len);
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(header.substr(0, dict.size()), dict);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(header.find_first_not_of(' ', dict.size()), header_len - 1);

  write_npy(path, {7}, std::vector<float>(7, 0.0f));
  EXPECT_NE(read_raw(path).find("'shape': (7,), }"), std::string::npos);
  write_npy(path, {}, {1.0f});
  EXPECT_NE(read_raw(path).find("'shape': (), }"), std::string::npos);
}

TEST(Npy, WriteRejectsSizeMismatchAndBadPath) {
  TempDir dir;
  EXPECT_THROW(write_npy(dir.file("x.npy"), {2, 2}, {1, 2, 3}), std::invalid_argument);
  const std::string path = dir.file("no/such/dir/x.npy");
  EXPECT_NE(error_message<IoError>([&] { write_npy(path, {1}, {1}); }).find(path),
            std::string::npos);
}

std::string dict(const std::string& descr, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

TEST(Npy, ReadsEachDtype) {
  TempDir dir;
  const auto read = [&](const std::string& descr, const std::string& data) {
    return read_npy(write_raw(dir.file("d.npy"), npy_bytes(dict(descr, "(3,)"), data)));
  };
  Array a = read("<f4", le_bytes<float>({1.5f, -2.0f, 0.1f}));
  EXPECT_EQ(a.dtype, DType::kFloat);
  EXPECT_EQ(a.f, (std::vector<float>{1.5f, -2.0f, 0.1f}));

  a = read("<f8", le_bytes<double>({0.1, -1e300, 2.5}));
  EXPECT_EQ(a.dtype, DType::kFloat);  // converted to float32
  EXPECT_EQ(a.f[0], 0.1f);
  EXPECT_EQ(a.f[1], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(a.f[2], 2.5f);

  a = read("|u1", "\x00\x80\xff"s);
  EXPECT_EQ(a.dtype, DType::kUInt8);
  EXPECT_EQ(a.i, (std::vector<int64_t>{0, 128, 255}));

  a = read("|i1", "\x00\x80\xff"s);
  EXPECT_EQ(a.dtype, DType::kInt8);
  EXPECT_EQ(a.i, (std::vector<int64_t>{0, -128, -1}));

  a = read("<i4", le_bytes<int32_t>({7, -7, 2147483647}));
  EXPECT_EQ(a.dtype, DType::kInt32);
  EXPECT_EQ(a.i, (std::vector<int64_t>{7, -7, 2147483647}));

  a = read("<i8", le_bytes<int64_t>({int64_t{1} << 40, -1, 3}));
  EXPECT_EQ(a.dtype, DType::kInt64);
  EXPECT_EQ(a.i, (std::vector<int64_t>{int64_t{1} << 40, -1, 3}));
  EXPECT_TRUE(a.f.empty());
}

TEST(Npy, ReadsBigEndianAndOneByteOrderVariants) {
  TempDir dir;
  const std::string be = {'\x3f', '\xc0', 0, 0, '\xc0', 0, 0, 0, 0, 0, 0, 0};  // 1.5, -2, 0
  Array a = read_npy(write_raw(dir.file("be.npy"), npy_bytes(dict(">f4", "(3,)"), be)));
  EXPECT_EQ(a.f, (std::vector<float>{1.5f, -2.0f, 0.0f}));
  a = read_npy(write_raw(dir.file("u1.npy"), npy_bytes(dict("<u1", "(1,)"), "\x09")));
  EXPECT_EQ(a.i, (std::vector<int64_t>{9}));
}

TEST(Npy, ReadsAFileNumpyWrote) {
  const std::string path = std::string(AC_SOURCE_DIR) + "/tests/fixtures/resnet18_32_input.npy";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  const Array a = read_npy(path);
  EXPECT_EQ(a.dtype, DType::kFloat);
  EXPECT_EQ(a.shape, (Shape{4, 3, 32, 32}));
  ASSERT_EQ(a.f.size(), 4u * 3 * 32 * 32);
  double sum_sq = 0;
  for (float x : a.f) sum_sq += static_cast<double>(x) * x;
  EXPECT_NEAR(sum_sq / static_cast<double>(a.f.size()), 1.0, 0.1);  // standard normal
}

TEST(Npy, HeaderSpellings) {
  TempDir dir;
  const std::string data = le_bytes<float>({1, 2, 3, 4, 5, 6});
  const std::vector<std::string> dicts = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
      "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}",
      "{ 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , 'descr' : '<f4' , }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
  };
  for (const std::string& d : dicts) {
    const Array a = read_npy(write_raw(dir.file("h.npy"), npy_bytes(d, data)));
    EXPECT_EQ(a.shape, (Shape{2, 3})) << d;
    EXPECT_EQ(a.f, (std::vector<float>{1, 2, 3, 4, 5, 6})) << d;
  }
}

TEST(Npy, Versions2And3) {
  TempDir dir;
  for (int major : {2, 3}) {
    const std::string path = dir.file("v" + std::to_string(major) + ".npy");
    const Array a =
        read_npy(write_raw(path, npy_bytes(dict("<i8", "(2,)"), le_bytes<int64_t>({5, 6}), major)));
    EXPECT_EQ(a.i, (std::vector<int64_t>{5, 6})) << major;
  }
}

TEST(Npy, ScalarShape) {
  TempDir dir;
  const Array a =
      read_npy(write_raw(dir.file("s.npy"), npy_bytes(dict("<i4", "()"), le_bytes<int32_t>({42}))));
  EXPECT_EQ(a.shape, Shape{});
  EXPECT_EQ(a.i, (std::vector<int64_t>{42}));
}

TEST(Npy, Gzipped) {
  TempDir dir;
  const std::string plain = dir.file("g.npy");
  write_npy(plain, {2, 2}, {1, 2, 3, 4});
  const Array a = read_npy(write_gz(dir.file("g.npy.gz"), read_raw(plain)));
  EXPECT_EQ(a.shape, (Shape{2, 2}));
  EXPECT_EQ(a.f, (std::vector<float>{1, 2, 3, 4}));
}

// The DataError message of reading `bytes` as .npy; checks it names the file.
std::string npy_error(const TempDir& dir, const std::string& bytes) {
  const std::string path = dir.file("bad.npy");
  write_raw(path, bytes);
  const std::string msg = error_message<DataError>([&] { read_npy(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  return msg;
}

TEST(Npy, FortranOrderRejected) {
  TempDir dir;
  const std::string d = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }";
  expect_contains(npy_error(dir, npy_bytes(d, le_bytes<float>({1, 2, 3, 4}))), "Fortran");
}

TEST(Npy, BadMagic) {
  TempDir dir;
  expect_contains(npy_error(dir, "\x93NUMPZ\x01\x00\x00\x00"s), "bad magic");
  expect_contains(npy_error(dir, ""), "bad magic");
  std::string v9 = npy_bytes(dict("<f4", "(1,)"), le_bytes<float>({1}));
  v9[6] = 9;
  expect_contains(npy_error(dir, v9), "version 9.0");
}

TEST(Npy, TruncatedData) {
  TempDir dir;
  const std::string msg =
      npy_error(dir, npy_bytes(dict("<f4", "(2, 3)"), le_bytes<float>({1, 2, 3, 4, 5})));
  expect_contains(msg, "truncated");
  expect_contains(msg, "needs 24 bytes");
  expect_contains(msg, "got 20");
}

TEST(Npy, TruncatedHeader) {
  TempDir dir;
  const std::string full = npy_bytes(dict("<f4", "(1,)"), "");
  expect_contains(npy_error(dir, full.substr(0, 40)), "truncated .npy header");
  expect_contains(npy_error(dir, full.substr(0, 9)), "truncated .npy header");
}

TEST(Npy, GarbageDict) {
  TempDir dir;
  const std::string data = le_bytes<float>({1, 2});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not a dict at all", "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}", "expected True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "expected ','"},
      {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unexpected key 'x'"},
      {"{'descr: '<f4', 'fortran_order': False, 'shape': (2,)}", "expected ':'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} trailing", "after the dict"},
  };
  for (const auto& [d, why] : cases) {
    const std::string msg = npy_error(dir, npy_bytes(d, data));
    expect_contains(msg, "unparseable .npy header");
    expect_contains(msg, why);
  }
}

TEST(Npy, UnsupportedDtype) {
  TempDir dir;
  for (const std::string descr : {"<c8", "<u2", "|f4", "f4", "<f16", "|O"}) {
    const std::string msg = npy_error(dir, npy_bytes(dict(descr, "(1,)"), "12345678"));
    expect_contains(msg, "unsupported dtype '" + descr + "'");
  }
}

TEST(Npy, HugeShapeIsTruncationNotOverflow) {
  TempDir dir;
  const std::string msg =
      npy_error(dir, npy_bytes(dict("<f4", "(9223372036854775807, 9223372036854775807)"), "1234"));
  expect_contains(msg, "truncated");
}

}  // namespace
}  // namespace autocompress
