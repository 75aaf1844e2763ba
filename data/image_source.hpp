// Image files as a SampleSource: each image decoded, converted and resized once to the model's
// resolution and kept as uint8, up to a memory bound; the images beyond it are decoded again for
// every batch that reads them, in parallel on TBB threads. Floats (ToTensor + Normalize, layout,
// channel order) are made per read, so the cache costs one byte per value, not four.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/preprocess.hpp"

namespace autocompress {

inline constexpr int64_t kDefaultImageCacheBytes = int64_t(1) << 30;  // 1 GiB

class ImageSource : public SampleSource {
 public:
  // `sample_shape` is the model input without its batch: [C,H,W] (NCHW) or [H,W,C] (NHWC, as
  // `p.layout` says), C 1 or 3. Decodes the first min(N, cache_bytes / (C*H*W)) images now, in
  // parallel; DataError naming the file of one that cannot be decoded or does not fit.
  ImageSource(std::vector<std::string> files, Preprocessing p, Shape sample_shape,
              int64_t cache_bytes = kDefaultImageCacheBytes);

  int64_t size() const override { return int64_t(files_.size()); }
  void read(int64_t first, int64_t count, std::span<float> out) const override;
  int64_t cached() const { return cached_; }  // images held as uint8

 private:
  // Image `i` decoded and preprocessed to the model's resolution.
  Image prepare(int64_t i) const;
  int64_t pixels_per_image() const { return channels_ * width_ * height_; }

  std::vector<std::string> files_;
  Preprocessing p_;
  int64_t channels_ = 0, width_ = 0, height_ = 0;
  int64_t cached_ = 0;
  std::vector<uint8_t> cache_;  // cached_ images, HWC uint8 each
};

}  // namespace autocompress
