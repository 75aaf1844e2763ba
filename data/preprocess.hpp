// Image preprocessing as torchvision does it on PIL images: Resize (PIL's antialiased bilinear),
// CenterCrop, ToTensor (/255), Normalize (per-channel mean/std), plus the channel conversions
// (gray <-> RGB, alpha dropped), channel order (RGB / BGR) and output layout (NCHW / NHWC) a
// model needs. Pure functions over `Image`; the resize reproduces PIL's fixed-point arithmetic,
// so the pixels equal PIL's to the bit. A Preprocessing also reads from a small JSON file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/image.hpp"

namespace autocompress {

enum class Layout { kNchw, kNhwc };
enum class ChannelOrder { kRgb, kBgr };

// The transforms in torchvision's order: convert -> Resize -> CenterCrop -> ToTensor ->
// Normalize. Sizes are {} (none), {S} or {H, W}, as torchvision's arguments: Resize({S}) sets the
// shorter side to S keeping the aspect ratio (the longer side truncated, as torchvision does);
// CenterCrop({S}) is S x S, padding with 0 where the image is smaller.
// `norm` holds one value per output channel (in `order`), or one for all, or none (identity).
struct Preprocessing {
  std::vector<int64_t> resize;
  std::vector<int64_t> center_crop;
  Normalization norm;
  ChannelOrder order = ChannelOrder::kRgb;
  Layout layout = Layout::kNchw;
};

// The fields of a preprocessing JSON file: {"resize": 256 | [h, w], "center_crop": 224 | [h, w],
// "mean": [..] | x, "std": [..] | x, "channel_order": "RGB" | "BGR", "layout": "NCHW" | "NHWC"};
// every field optional. DataError naming `name` and the field for an unknown field, a wrong type
// or value, or malformed JSON.
Preprocessing parse_preprocessing(const std::string& json_text, const std::string& name);
Preprocessing read_preprocessing(const std::string& path);  // + DataError if unreadable

// {width, height} after torchvision's Resize(`size`) of a width x height image.
std::pair<int64_t, int64_t> resized_size(int64_t width, int64_t height,
                                         const std::vector<int64_t>& size);
// PIL's Image.resize(..., BILINEAR): a separable triangle filter widened by the scale when
// shrinking (antialiasing), 22-bit fixed-point weights, horizontal pass first, each pass rounded
// to 8 bits (Pillow's libImaging/Resample.c). 1 to 4 channels.
Image resize_bilinear(const Image& img, int64_t width, int64_t height);
// torchvision's center_crop: offsets round((size - crop) / 2) (half to even, Python's round),
// zero padding first when the crop is larger than the image.
Image center_crop(const Image& img, int64_t width, int64_t height);

// `img` with `channels` (1 or 3) channels, resized and cropped as `p` says: the uint8 pixels the
// tensor is made of. Throws DataError naming `name` when the result is not width x height.
Image prepare_image(Image img, const Preprocessing& p, int64_t channels, int64_t width,
                    int64_t height, const std::string& name);
// ToTensor + Normalize of `img` into `out` (width * height * channels floats) in `p.layout` and
// `p.order`: (x / 255 - mean[c]) / std[c] in float32, the same operations torchvision does.
void to_tensor(const Image& img, const Preprocessing& p, std::span<float> out);

}  // namespace autocompress
