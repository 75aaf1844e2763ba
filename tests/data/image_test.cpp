#include "data/image.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "tests/data/image_files.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress {
namespace {

using testing::encode_jpeg;
using testing::encode_png;
using testing::error_message;
using testing::expect_contains;
using testing::pattern;
using testing::png_spec;
using testing::PngSpec;
using testing::TempDir;
using testing::write_raw;

int max_abs_diff(const Image& a, const Image& b) {
  EXPECT_EQ(a.pixels.size(), b.pixels.size());
  int d = 0;
  for (size_t k = 0; k < std::min(a.pixels.size(), b.pixels.size()); ++k)
    d = std::max(d, std::abs(int(a.pixels[k]) - int(b.pixels[k])));
  return d;
}

class PngRoundTrip : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(PngRoundTrip, EightBitIsExact) {
  const auto [channels, interlace] = GetParam();
  const Image img = pattern(13, 7, channels);
  const Image got = decode_image_bytes(encode_png(img, interlace), "x.png");
  EXPECT_EQ(got.width, 13);
  EXPECT_EQ(got.height, 7);
  EXPECT_EQ(got.channels, channels);
  EXPECT_EQ(got.pixels, img.pixels);
}

INSTANTIATE_TEST_SUITE_P(Channels, PngRoundTrip,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4), ::testing::Bool()));

TEST(Png, SixteenBitRgbKeepsTheHighByte) {
  // Two RGB pixels, big-endian 16-bit samples.
  const std::vector<uint8_t> rows = {0x12, 0x34, 0xAB, 0xFF, 0x00, 0x01,
                                     0xFF, 0xFF, 0x80, 0x00, 0x7F, 0xFF};
  const Image got =
      decode_image_bytes(encode_png(png_spec(2, 1, PNG_COLOR_TYPE_RGB, 16, rows)), "x.png");
  EXPECT_EQ(got.channels, 3);
  EXPECT_EQ(got.pixels, (std::vector<uint8_t>{0x12, 0xAB, 0x00, 0xFF, 0x80, 0x7F}));
}

TEST(Png, SixteenBitGrayIsClippedAsPilDoes) {
  // PIL opens 16-bit gray as mode "I"; convert("L") clips: 0, 255, 256, 1000, 65535 ->
  // 0, 255, 255, 255, 255.
  const std::vector<uint8_t> rows = {0, 0, 0, 255, 1, 0, 3, 232, 255, 255};
  const Image got =
      decode_image_bytes(encode_png(png_spec(5, 1, PNG_COLOR_TYPE_GRAY, 16, rows)), "x.png");
  EXPECT_EQ(got.channels, 1);
  EXPECT_EQ(got.pixels, (std::vector<uint8_t>{0, 255, 255, 255, 255}));
}

TEST(Png, OneBitGrayExpandsTo0And255) {
  const Image got =
      decode_image_bytes(encode_png(png_spec(8, 1, PNG_COLOR_TYPE_GRAY, 1, {0b10110000})), "x.png");
  EXPECT_EQ(got.pixels, (std::vector<uint8_t>{255, 0, 255, 255, 0, 0, 0, 0}));
}

TEST(Png, PaletteExpandsAndItsAlphaIsDroppedForRgb) {
  PngSpec s = png_spec(3, 1, PNG_COLOR_TYPE_PALETTE, 8, {2, 0, 1});
  s.palette = {{10, 20, 30}, {40, 50, 60}, {70, 80, 90}};
  EXPECT_EQ(decode_image_bytes(encode_png(s), "x.png").pixels,
            (std::vector<uint8_t>{70, 80, 90, 10, 20, 30, 40, 50, 60}));
  s.palette_alpha = {0, 128, 255};
  const Image rgba = decode_image_bytes(encode_png(s), "x.png");
  EXPECT_EQ(rgba.channels, 4);
  EXPECT_EQ(to_channels(rgba, 3).pixels,
            (std::vector<uint8_t>{70, 80, 90, 10, 20, 30, 40, 50, 60}));
}

TEST(Jpeg, GrayAndRgbDecodeCloseToTheirPixels) {
  for (int channels : {1, 3}) {
    const Image img = pattern(40, 24, channels);
    const Image got = decode_image_bytes(encode_jpeg(img, 100), "x.jpg");
    EXPECT_EQ(got.width, 40);
    EXPECT_EQ(got.height, 24);
    EXPECT_EQ(got.channels, channels);
    EXPECT_LE(max_abs_diff(got, img), 3) << channels;
  }
}

TEST(Jpeg, SubsampledColourDecodesToRgb) {
  const Image img = pattern(33, 17, 3);  // odd sizes: partial MCUs
  const Image got = decode_image_bytes(encode_jpeg(img, 95, true), "x.jpg");
  EXPECT_EQ(got.channels, 3);
  EXPECT_LE(max_abs_diff(got, img), 8);  // chroma at half resolution
}

TEST(Jpeg, CmykIsConvertedWithAdobePolarityAsPilDoes) {
  // One flat colour (exact at quality 100). Stored (Adobe, inverted) C M Y K = 155 205 235 245,
  // so C M Y K = 100 50 20 10 and PIL gives RGB 149 197 226.
  const Image cmyk{16, 16, 4, [] {
                     std::vector<uint8_t> p;
                     for (int k = 0; k < 256; ++k) p.insert(p.end(), {155, 205, 235, 245});
                     return p;
                   }()};
  const Image got = decode_image_bytes(encode_jpeg(cmyk, 100), "x.jpg");
  ASSERT_EQ(got.channels, 3);
  for (size_t p = 0; p < 256; ++p) {
    EXPECT_NEAR(got.pixels[3 * p], 149, 1);
    EXPECT_NEAR(got.pixels[3 * p + 1], 197, 1);
    EXPECT_NEAR(got.pixels[3 * p + 2], 226, 1);
  }
}

TEST(Decode, FormatIsDecidedByContentNotName) {
  TempDir dir;
  const Image img = pattern(5, 4, 3);
  const Image got = decode_image(write_raw(dir.file("really_a_png.jpg"), encode_png(img)));
  EXPECT_EQ(got.pixels, img.pixels);
  EXPECT_EQ(image_format(encode_jpeg(img)), "JPEG");
  EXPECT_EQ(image_format(encode_png(img)), "PNG");
  EXPECT_EQ(image_format("GIF89a"), "");
}

TEST(ToChannels, AsPilConvert) {
  const Image rgba{2, 1, 4, {255, 0, 0, 7, 10, 200, 30, 0}};
  EXPECT_EQ(to_channels(rgba, 3).pixels, (std::vector<uint8_t>{255, 0, 0, 10, 200, 30}));
  // L = (19595 R + 38470 G + 7471 B + 32768) >> 16: (255,0,0) -> 76, (10,200,30) -> 124.
  EXPECT_EQ(to_channels(rgba, 1).pixels, (std::vector<uint8_t>{76, 124}));
  const Image la{2, 1, 2, {9, 1, 250, 2}};
  EXPECT_EQ(to_channels(la, 3).pixels, (std::vector<uint8_t>{9, 9, 9, 250, 250, 250}));
  EXPECT_EQ(to_channels(la, 1).pixels, (std::vector<uint8_t>{9, 250}));
  expect_contains(error_message<UsageError>([&] { to_channels(la, 4); }), "not 4");
}

// ---------------------------------------------------------------- bad files

TEST(DecodeErrors, NameTheFileAndWhatWasExpected) {
  TempDir dir;
  const auto msg = [&](const std::string& name, const std::string& bytes) {
    return error_message<DataError>([&] { decode_image(write_raw(dir.file(name), bytes)); });
  };
  const std::string empty = msg("empty.png", "");
  expect_contains(empty, "empty.png");
  expect_contains(empty, "expected a JPEG or PNG");
  expect_contains(msg("text.jpg", "hello"), "not a JPEG or PNG image");
  std::filesystem::create_symlink(dir.file("nowhere"), dir.file("dangling.jpg"));
  const std::string missing =
      error_message<DataError>([&] { decode_image(dir.file("dangling.jpg")); });
  expect_contains(missing, "dangling.jpg: cannot read image file");
}

TEST(DecodeErrors, TruncatedJpegAtAnyPoint) {
  const std::string full = encode_jpeg(pattern(64, 48, 3), 90, true);
  for (size_t cut : {size_t(3), size_t(20), full.size() / 3, full.size() / 2, full.size() - 2}) {
    const std::string m = error_message<DataError>(
        [&] { decode_image_bytes(std::string_view(full).substr(0, cut), "cut.jpg"); });
    expect_contains(m, "cut.jpg: corrupt or truncated JPEG");
  }
}

TEST(DecodeErrors, CorruptJpegEntropyData) {
  std::string bytes = encode_jpeg(pattern(64, 48, 3), 90);
  const size_t sos = bytes.find("\xFF\xDA");
  ASSERT_NE(sos, std::string::npos);
  for (size_t k = sos + 20; k < bytes.size() - 2; k += 3) bytes[k] = '\xFF';  // markers everywhere
  expect_contains(error_message<DataError>([&] { decode_image_bytes(bytes, "bad.jpg"); }),
                  "bad.jpg: corrupt or truncated JPEG");
}

TEST(DecodeErrors, TruncatedPngAtAnyPoint) {
  const std::string full = encode_png(pattern(64, 48, 3));
  for (size_t cut : {size_t(8), size_t(20), full.size() / 2, full.size() - 4}) {
    const std::string m = error_message<DataError>(
        [&] { decode_image_bytes(std::string_view(full).substr(0, cut), "cut.png"); });
    expect_contains(m, "cut.png: corrupt or truncated PNG");
  }
}

TEST(DecodeErrors, CorruptPngDataFailsItsCrc) {
  std::string bytes = encode_png(pattern(64, 48, 3));
  const size_t idat = bytes.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  bytes[idat + 10] = char(bytes[idat + 10] ^ 0x55);
  expect_contains(error_message<DataError>([&] { decode_image_bytes(bytes, "bad.png"); }),
                  "bad.png: corrupt or truncated PNG");
}

}  // namespace
}  // namespace autocompress
