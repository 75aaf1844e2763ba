#include "data/preprocess.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress {
namespace {

using testing::error_message;
using testing::TempDir;
using testing::write_raw;

Image random_image(int64_t w, int64_t h, int64_t c, uint32_t seed) {
  std::mt19937 rng(seed);
  Image img{w, h, c, std::vector<uint8_t>(size_t(w * h * c))};
  for (auto& p : img.pixels) p = uint8_t(rng() % 256);
  return img;
}

// The reference: PIL's filter written plainly in double precision, both passes at once, no
// fixed point and no rounding between the passes.
std::vector<double> naive_weights(int64_t in, int64_t out, int64_t o, int64_t& first) {
  const double scale = double(in) / double(out), fs = std::max(scale, 1.0);
  const double center = (double(o) + 0.5) * scale;
  first = std::max<int64_t>(int64_t(center - fs + 0.5), 0);
  const int64_t last = std::min<int64_t>(int64_t(center + fs + 0.5), in);
  std::vector<double> w;
  double sum = 0;
  for (int64_t i = first; i < last; ++i) {
    const double t = std::abs((double(i) - center + 0.5) / fs);
    w.push_back(t < 1 ? 1 - t : 0);
    sum += w.back();
  }
  for (auto& v : w) v /= sum;
  return w;
}

Image naive_resize(const Image& img, int64_t w, int64_t h) {
  Image out{w, h, img.channels, std::vector<uint8_t>(size_t(w * h * img.channels))};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      int64_t fx = 0, fy = 0;
      const auto wx = naive_weights(img.width, w, x, fx), wy = naive_weights(img.height, h, y, fy);
      for (int64_t c = 0; c < img.channels; ++c) {
        double s = 0;
        for (size_t j = 0; j < wy.size(); ++j)
          for (size_t i = 0; i < wx.size(); ++i)
            s += wy[j] * wx[i] *
                 img.pixels[size_t(
                     ((fy + int64_t(j)) * img.width + fx + int64_t(i)) * img.channels + c)];
        out.pixels[size_t((y * w + x) * img.channels + c)] =
            uint8_t(std::clamp(std::lround(s), 0l, 255l));
      }
    }
  return out;
}

struct ResizeCase {
  int64_t w, h, c, to_w, to_h;
};

class ResizeVsNaive : public ::testing::TestWithParam<ResizeCase> {};

TEST_P(ResizeVsNaive, WithinOneLevel) {
  const ResizeCase k = GetParam();
  const Image img = random_image(k.w, k.h, k.c, uint32_t(k.w * 31 + k.h));
  const Image got = resize_bilinear(img, k.to_w, k.to_h);
  const Image ref = naive_resize(img, k.to_w, k.to_h);
  ASSERT_EQ(got.pixels.size(), ref.pixels.size());
  int worst = 0;
  for (size_t i = 0; i < got.pixels.size(); ++i)
    worst = std::max(worst, std::abs(int(got.pixels[i]) - int(ref.pixels[i])));
  // Fixed-point weights and the 8-bit rounding between PIL's two passes: at most one level.
  EXPECT_LE(worst, 1);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ResizeVsNaive,
                         ::testing::Values(ResizeCase{37, 23, 3, 24, 15},
                                           ResizeCase{10, 10, 1, 23, 7},
                                           ResizeCase{64, 48, 3, 17, 13}, ResizeCase{5, 9, 4, 5, 3},
                                           ResizeCase{3, 2, 3, 12, 8},
                                           ResizeCase{100, 1, 1, 7, 1}));

TEST(Resize, SameSizeIsTheImage) {
  const Image img = random_image(9, 7, 3, 1);
  EXPECT_EQ(resize_bilinear(img, 9, 7).pixels, img.pixels);
}

TEST(ResizedSize, ShorterSideAsTorchvision) {
  EXPECT_EQ(resized_size(37, 23, {24}), (std::pair<int64_t, int64_t>{38, 24}));  // int(24*37/23)
  EXPECT_EQ(resized_size(23, 37, {24}), (std::pair<int64_t, int64_t>{24, 38}));
  EXPECT_EQ(resized_size(31, 31, {24}), (std::pair<int64_t, int64_t>{24, 24}));
  EXPECT_EQ(resized_size(500, 375, {256}), (std::pair<int64_t, int64_t>{341, 256}));
  EXPECT_EQ(resized_size(37, 23, {19, 27}), (std::pair<int64_t, int64_t>{27, 19}));
  EXPECT_EQ(resized_size(37, 23, {}), (std::pair<int64_t, int64_t>{37, 23}));
}

TEST(CenterCrop, OffsetsRoundHalfToEven) {
  // Width 10 -> 7: (10 - 7) / 2 = 1.5 rounds to 2. Height 6 -> 5: 0.5 rounds to 0.
  Image img{10, 6, 1, {}};
  for (int64_t i = 0; i < 60; ++i) img.pixels.push_back(uint8_t(i));
  const Image c = center_crop(img, 7, 5);
  EXPECT_EQ(c.pixels[0], 2);   // row 0, column 2
  EXPECT_EQ(c.pixels[7], 12);  // row 1, column 2
  // Width 9 -> 4: 2.5 rounds to 2.
  Image n{9, 1, 1, {0, 1, 2, 3, 4, 5, 6, 7, 8}};
  EXPECT_EQ(center_crop(n, 4, 1).pixels, (std::vector<uint8_t>{2, 3, 4, 5}));
}

TEST(CenterCrop, PadsWithZeroWhenLarger) {
  // torchvision pads left (5-2)//2 = 1, right 2.
  const Image img{2, 1, 1, {7, 9}};
  EXPECT_EQ(center_crop(img, 5, 1).pixels, (std::vector<uint8_t>{0, 7, 9, 0, 0}));
}

TEST(ToTensor, LayoutOrderAndNormalizationAgainstNaive) {
  const Image img = random_image(4, 3, 3, 5);
  Preprocessing p;
  p.norm = {{0.1f, 0.2f, 0.3f}, {0.5f, 0.25f, 2.0f}};
  for (Layout layout : {Layout::kNchw, Layout::kNhwc})
    for (ChannelOrder order : {ChannelOrder::kRgb, ChannelOrder::kBgr}) {
      p.layout = layout, p.order = order;
      std::vector<float> out(36);
      to_tensor(img, p, out);
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < 12; ++i) {
          const int64_t src = order == ChannelOrder::kBgr ? 2 - c : c;
          const float want =
              (float(img.pixels[size_t(i * 3 + src)]) / 255.0f - p.norm.mean[size_t(c)]) /
              p.norm.std[size_t(c)];
          const size_t at = size_t(layout == Layout::kNchw ? c * 12 + i : i * 3 + c);
          EXPECT_EQ(out[at], want) << c << " " << i;
        }
    }
}

TEST(PrepareImage, GrayToRgbAndSizeMismatchNamesTheFile) {
  const Image gray{5, 4, 1, std::vector<uint8_t>(20, 77)};
  Preprocessing p;
  const Image rgb = prepare_image(gray, p, 3, 5, 4, "g.png");
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels, std::vector<uint8_t>(60, 77));
  const std::string msg =
      error_message<DataError>([&] { prepare_image(gray, p, 3, 8, 8, "dir/g.png"); });
  EXPECT_NE(msg.find("dir/g.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("5x4"), std::string::npos) << msg;
}

TEST(PreprocessingJson, ReadsEveryField) {
  const Preprocessing p = parse_preprocessing(
      R"({"resize": 256, "center_crop": [224, 200], "mean": [0.485, 0.456, 0.406],
          "std": 0.5, "channel_order": "BGR", "layout": "NHWC"})",
      "p.json");
  EXPECT_EQ(p.resize, (std::vector<int64_t>{256}));
  EXPECT_EQ(p.center_crop, (std::vector<int64_t>{224, 200}));
  EXPECT_EQ(p.norm.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(p.norm.std, (std::vector<float>{0.5f}));
  EXPECT_EQ(p.order, ChannelOrder::kBgr);
  EXPECT_EQ(p.layout, Layout::kNhwc);
  const Preprocessing none = parse_preprocessing("{}", "p.json");
  EXPECT_TRUE(none.resize.empty() && none.center_crop.empty() && none.norm.mean.empty());
}

TEST(PreprocessingJson, ErrorsNameTheFileAndField) {
  const auto msg = [](const std::string& text) {
    return error_message<DataError>([&] { parse_preprocessing(text, "pre.json"); });
  };
  for (const auto& [text, part] : std::vector<std::pair<std::string, std::string>>{
           {R"({"resize": 256, "crop": 224})", "unknown field 'crop'"},
           {R"({"resize": -3})", "field 'resize'"},
           {R"({"resize": [1, 2, 3]})", "field 'resize'"},
           {R"({"center_crop": "224"})", "field 'center_crop'"},
           {R"({"mean": ["a"]})", "field 'mean'"},
           {R"({"std": [0.5, 0]})", "field 'std'"},
           {R"({"channel_order": "rgb"})", "field 'channel_order'"},
           {R"({"layout": 4})", "field 'layout'"},
           {R"([1, 2])", "JSON object"},
           {R"({"resize": )", "malformed"}}) {
    const std::string m = msg(text);
    EXPECT_NE(m.find("pre.json"), std::string::npos) << m;
    EXPECT_NE(m.find(part), std::string::npos) << text << " -> " << m;
  }
}

TEST(PreprocessingJson, ReadsAFile) {
  TempDir dir;
  const std::string path = write_raw(dir.file("p.json"), R"({"resize": [32, 48]})");
  EXPECT_EQ(read_preprocessing(path).resize, (std::vector<int64_t>{32, 48}));
  EXPECT_NE(error_message<DataError>([&] {
              read_preprocessing(dir.file("none.json"));
            }).find("none.json"),
            std::string::npos);
}

}  // namespace
}  // namespace autocompress
