#include "data/image_source.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace autocompress {

ImageSource::ImageSource(std::vector<std::string> files, Preprocessing p, Shape sample_shape,
                         int64_t cache_bytes)
    : files_(std::move(files)), p_(std::move(p)) {
  if (sample_shape.size() != 3)
    throw UsageError("image data needs a model input [N,C,H,W] or [N,H,W,C], got samples " +
                     shape_str(sample_shape));
  const bool nchw = p_.layout == Layout::kNchw;
  channels_ = nchw ? sample_shape[0] : sample_shape[2];
  height_ = nchw ? sample_shape[1] : sample_shape[0];
  width_ = nchw ? sample_shape[2] : sample_shape[1];
  if (channels_ != 1 && channels_ != 3)
    throw DataError(files_.empty() ? "" : files_[0],
                    "images give 1 (gray) or 3 (RGB) channels; the model input " +
                        shape_str(sample_shape) + " (" + (nchw ? "NCHW" : "NHWC") + ") has " +
                        std::to_string(channels_));
  // Normalization statistics that do not fit the channels fail here, not in a batch.
  const Shape chw = {channels_, height_, width_};
  for (float s : detail::per_channel(p_.norm.std, 1.0f, channels_, "std", chw))
    if (s == 0.0f) throw UsageError("normalization std must be non-zero");
  detail::per_channel(p_.norm.mean, 0.0f, channels_, "mean", chw);
  const int64_t per = pixels_per_image();
  cached_ = std::min(size(), per > 0 ? std::max<int64_t>(cache_bytes, 0) / per : 0);
  cache_.resize(size_t(cached_ * per));
  tbb::parallel_for(int64_t(0), cached_, [&](int64_t i) {
    const Image img = prepare(i);
    std::copy(img.pixels.begin(), img.pixels.end(), cache_.begin() + i * per);
  });
}

Image ImageSource::prepare(int64_t i) const {
  const std::string& f = files_[size_t(i)];
  return prepare_image(decode_image(f), p_, channels_, width_, height_, f);
}

void ImageSource::read(int64_t first, int64_t count, std::span<float> out) const {
  const int64_t per = pixels_per_image();
  if (first < 0 || count < 0 || first + count > size() || int64_t(out.size()) != count * per)
    throw UsageError("image read of [" + std::to_string(first) + ", " +
                     std::to_string(first + count) + ") of " + std::to_string(size()) + " into " +
                     std::to_string(out.size()) + " values");
  tbb::parallel_for(first, first + count, [&](int64_t i) {
    Image img;
    if (i < cached_) {
      const auto from = cache_.begin() + i * per;
      img = Image{width_, height_, channels_, std::vector<uint8_t>(from, from + per)};
    } else {
      img = prepare(i);
    }
    to_tensor(img, p_, out.subspan(size_t((i - first) * per), size_t(per)));
  });
}

}  // namespace autocompress
