#include "data/preprocess.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"

namespace autocompress {

namespace {

// Pillow's 8-bit resampling precision: weights are fixed point with 22 fraction bits.
constexpr int kPrecisionBits = 32 - 8 - 2;

// The weights of one output position: source pixels [first, first + count) times k[0..count).
struct Taps {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> k;  // out_size * ksize
};

double triangle(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1) over
// the whole input [0, in_size).
Taps bilinear_taps(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Taps t;
  t.ksize = int(std::ceil(support)) * 2 + 1;
  t.first.resize(size_t(out_size));
  t.count.resize(size_t(out_size));
  t.k.assign(size_t(out_size) * size_t(t.ksize), 0);
  std::vector<double> w(size_t(t.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const int xmin = std::max(int(center - support + 0.5), 0);
    const int xmax = std::min(int(center + support + 0.5), in_size) - xmin;
    const double ss = 1.0 / filterscale;  // a multiply, as Pillow does: the last bit matters
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) ww += w[size_t(x)] = triangle((x + xmin - center + 0.5) * ss);
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[size_t(x)] / ww : w[size_t(x)];
      t.k[size_t(xx * t.ksize + x)] =
          int32_t(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    t.first[size_t(xx)] = xmin;
    t.count[size_t(xx)] = xmax;
  }
  return t;
}

uint8_t clip8(int32_t v) {
  return uint8_t(std::clamp(v >> kPrecisionBits, int32_t(0), int32_t(255)));
}

// One pass along x (`horizontal`) or y: out pixel = sum of taps over the source row / column.
Image resample_pass(const Image& in, int64_t out_w, int64_t out_h, const Taps& t, bool horizontal) {
  const int64_t c = in.channels;
  if (c < 1 || c > 4) throw UsageError("resize takes 1 to 4 channels, not " + std::to_string(c));
  Image out{out_w, out_h, c, std::vector<uint8_t>(size_t(out_w * out_h * c))};
  const uint8_t* src = in.pixels.data();
  uint8_t* dst = out.pixels.data();
  const int64_t tap_stride = horizontal ? c : in.width * c;  // from one source tap to the next
  for (int64_t y = 0; y < out_h; ++y)
    for (int64_t x = 0; x < out_w; ++x, dst += c) {
      const size_t o = size_t(horizontal ? x : y);
      const int32_t* k = &t.k[o * size_t(t.ksize)];
      const uint8_t* s =
          src + (horizontal ? y * in.width + t.first[o] : t.first[o] * in.width + x) * c;
      int32_t ss[4] = {};
      std::fill_n(ss, c, 1 << (kPrecisionBits - 1));
      for (int j = 0; j < t.count[o]; ++j, s += tap_stride)
        for (int64_t ch = 0; ch < c; ++ch) ss[ch] += int32_t(s[ch]) * k[j];
      for (int64_t ch = 0; ch < c; ++ch) dst[ch] = clip8(ss[ch]);
    }
  return out;
}

// Python's round(d / 2.0) for an integer d: half to even.
int64_t half_to_even(int64_t d) {
  const int64_t q = d >= 0 ? d / 2 : -((-d) / 2);
  if (d % 2 == 0) return q;
  return (q % 2 == 0) ? q : q + (d > 0 ? 1 : -1);
}

// {H, W} of a size argument ({S} = S x S); `field` names it in errors.
std::pair<int64_t, int64_t> hw(const std::vector<int64_t>& size, const char* field) {
  if (size.size() == 1) return {size[0], size[0]};
  if (size.size() == 2) return {size[0], size[1]};
  throw UsageError(std::string("preprocessing ") + field + " takes 1 or 2 sizes, got " +
                   std::to_string(size.size()));
}

// JSON sizes: an integer or [h, w] of positive integers.
std::vector<int64_t> json_size(const nlohmann::json& v, const std::string& field,
                               const std::string& name) {
  std::vector<int64_t> out;
  if (v.is_number_integer()) out.push_back(v.get<int64_t>());
  if (v.is_array() && v.size() == 2)
    for (const auto& e : v)
      if (e.is_number_integer()) out.push_back(e.get<int64_t>());
  if (out.empty() || out.size() != (v.is_array() ? 2u : 1u) ||
      std::any_of(out.begin(), out.end(), [](int64_t s) { return s <= 0; }))
    throw DataError(name, "field '" + field +
                              "': expected a positive integer or [height, width], got " + v.dump());
  return out;
}

std::vector<float> json_floats(const nlohmann::json& v, const std::string& field,
                               const std::string& name) {
  std::vector<float> out;
  const auto bad = [&] {
    return DataError(
        name, "field '" + field + "': expected a number or a list of numbers, got " + v.dump());
  };
  if (v.is_number()) return {v.get<float>()};
  if (!v.is_array() || v.empty()) throw bad();
  for (const auto& e : v) {
    if (!e.is_number()) throw bad();
    out.push_back(e.get<float>());
  }
  return out;
}

std::string json_word(const nlohmann::json& v, const std::string& field, const std::string& name,
                      const std::vector<std::string>& allowed) {
  if (v.is_string() &&
      std::find(allowed.begin(), allowed.end(), v.get<std::string>()) != allowed.end())
    return v.get<std::string>();
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "\"" : " or \"") + a + "\"";
  throw DataError(name, "field '" + field + "': expected " + list + ", got " + v.dump());
}

}  // namespace

Preprocessing parse_preprocessing(const std::string& json_text, const std::string& name) {
  const nlohmann::json j = parse_json(
      json_text, [&](const std::string& w) { return DataError(name, "preprocessing: " + w); });
  if (!j.is_object()) throw DataError(name, "a preprocessing file holds a JSON object");
  Preprocessing p;
  for (const auto& [field, v] : j.items()) {
    if (field == "resize") {
      p.resize = json_size(v, field, name);
    } else if (field == "center_crop") {
      p.center_crop = json_size(v, field, name);
    } else if (field == "mean") {
      p.norm.mean = json_floats(v, field, name);
    } else if (field == "std") {
      p.norm.std = json_floats(v, field, name);
      for (float s : p.norm.std)
        if (s == 0.0f) throw DataError(name, "field 'std': values must be non-zero");
    } else if (field == "channel_order") {
      p.order = json_word(v, field, name, {"RGB", "BGR"}) == "RGB" ? ChannelOrder::kRgb
                                                                   : ChannelOrder::kBgr;
    } else if (field == "layout") {
      p.layout =
          json_word(v, field, name, {"NCHW", "NHWC"}) == "NCHW" ? Layout::kNchw : Layout::kNhwc;
    } else {
      throw DataError(name, "unknown field '" + field +
                                "' (expected resize, center_crop, mean, std, channel_order, "
                                "layout)");
    }
  }
  return p;
}

Preprocessing read_preprocessing(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw DataError(path, std::string("cannot read preprocessing file: ") + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_preprocessing(ss.str(), path);
}

std::pair<int64_t, int64_t> resized_size(int64_t width, int64_t height,
                                         const std::vector<int64_t>& size) {
  if (size.empty()) return {width, height};
  if (size.size() == 2) return {size[1], size[0]};
  const int64_t s = size[0];
  if (size.size() != 1 || s <= 0)
    throw UsageError("preprocessing resize takes one positive size or [height, width]");
  // torchvision: new_long = int(S * long / short), a float division then truncation.
  const bool portrait = width <= height;
  const int64_t shorter = portrait ? width : height, longer = portrait ? height : width;
  const auto new_long = int64_t(double(s * longer) / double(shorter));
  return portrait ? std::pair{s, new_long} : std::pair{new_long, s};
}

Image resize_bilinear(const Image& img, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0)
    throw UsageError("resize to " + std::to_string(width) + "x" + std::to_string(height));
  const bool across = width != img.width, down = height != img.height;
  if (!across && !down) return img;
  if (!down)
    return resample_pass(img, width, height, bilinear_taps(int(img.width), int(width)), true);
  const Taps vertical = bilinear_taps(int(img.height), int(height));
  if (!across) return resample_pass(img, width, height, vertical, false);
  const Image wide =
      resample_pass(img, width, img.height, bilinear_taps(int(img.width), int(width)), true);
  return resample_pass(wide, width, height, vertical, false);
}

Image center_crop(const Image& img, int64_t width, int64_t height) {
  // Offsets of the crop in the (conceptually zero-padded) image; negative means padding.
  const auto offset = [](int64_t size, int64_t crop) {
    return crop > size ? -((crop - size) / 2) : half_to_even(size - crop);
  };
  const int64_t left = offset(img.width, width), top = offset(img.height, height);
  const int64_t c = img.channels;
  Image out{width, height, c, std::vector<uint8_t>(size_t(width * height * c), 0)};
  for (int64_t y = 0; y < height; ++y) {
    const int64_t sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    for (int64_t x = 0; x < width; ++x) {
      const int64_t sx = x + left;
      if (sx < 0 || sx >= img.width) continue;
      std::copy_n(&img.pixels[size_t((sy * img.width + sx) * c)], c,
                  &out.pixels[size_t((y * width + x) * c)]);
    }
  }
  return out;
}

Image prepare_image(Image img, const Preprocessing& p, int64_t channels, int64_t width,
                    int64_t height, const std::string& name) {
  img = to_channels(std::move(img), channels);
  if (!p.resize.empty()) {
    const auto [w, h] = resized_size(img.width, img.height, p.resize);
    if (w != img.width || h != img.height) img = resize_bilinear(img, w, h);
  }
  if (!p.center_crop.empty()) {
    const auto [h, w] = hw(p.center_crop, "center_crop");
    img = center_crop(img, w, h);
  }
  if (img.width != width || img.height != height)
    throw DataError(name, "image is " + std::to_string(img.width) + "x" +
                              std::to_string(img.height) +
                              " (width x height) after preprocessing; " + "the model takes " +
                              std::to_string(width) + "x" + std::to_string(height) +
                              " (add a resize and/or center crop)");
  return img;
}

void to_tensor(const Image& img, const Preprocessing& p, std::span<float> out) {
  const int64_t c = img.channels, plane = img.width * img.height;
  const Shape sample = {c, img.height, img.width};
  const std::vector<float> mean = detail::per_channel(p.norm.mean, 0.0f, c, "mean", sample);
  const std::vector<float> stdev = detail::per_channel(p.norm.std, 1.0f, c, "std", sample);
  if (int64_t(out.size()) != plane * c)
    throw UsageError("to_tensor: output holds " + std::to_string(out.size()) + " values, not " +
                     std::to_string(plane * c));
  const bool bgr = p.order == ChannelOrder::kBgr && c == 3;
  for (int64_t oc = 0; oc < c; ++oc) {
    const int64_t src = bgr ? 2 - oc : oc;
    const float m = mean[size_t(oc)], s = stdev[size_t(oc)];
    for (int64_t i = 0; i < plane; ++i) {
      float x = float(img.pixels[size_t(i * c + src)]) / 255.0f;
      x = x - m;
      out[size_t(p.layout == Layout::kNchw ? oc * plane + i : i * c + oc)] = x / s;
    }
  }
}

}  // namespace autocompress
