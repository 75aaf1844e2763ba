#include "data/dataset.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace autocompress::detail {
// Defined in idx.cpp: the file's bytes (at most max_bytes), gunzipped when it starts with 1f 8b.
std::string read_file_bytes(const std::string& path, size_t max_bytes);
}  // namespace autocompress::detail

namespace autocompress {

namespace detail {
std::vector<float> per_channel(const std::vector<float>& v, float identity, int64_t channels,
                               const char* what, const Shape& sample) {
  if (v.empty()) return std::vector<float>(static_cast<size_t>(channels), identity);
  if (v.size() == 1) return std::vector<float>(static_cast<size_t>(channels), v[0]);
  if (static_cast<int64_t>(v.size()) != channels)
    throw UsageError(std::string("normalization ") + what + " has " + std::to_string(v.size()) +
                     " values; expected 1 or " + std::to_string(channels) +
                     " (one per channel of samples " + shape_str(sample) + ")");
  return v;
}
}  // namespace detail

namespace {

// .npy or IDX, decided by content: .npy starts with "\x93NUMPY" (after gunzip), IDX with 00 00.
Array read_array(const std::string& path) {
  return detail::read_file_bytes(path, 6) == "\x93NUMPY" ? read_npy(path) : read_idx(path);
}

// dir/base, or dir/base.gz when only that exists.
std::string find_file(const std::string& dir, const std::string& base) {
  const std::filesystem::path plain = std::filesystem::path(dir) / base;
  if (std::filesystem::exists(plain)) return plain.string();
  const std::string gz = plain.string() + ".gz";
  if (std::filesystem::exists(gz)) return gz;
  throw IoError(plain.string() + "[.gz]", "not found");
}

// Samples [first, first + count) of `img` as normalized float32. uint8 pixels are scaled to
// [0,1] first. The arithmetic is exactly torchvision's ToTensor + Normalize in float32 — a
// division by 255, a subtraction, a division; no multiply by a reciprocal — because reference
// logits are compared bit for bit.
// `img` has a batch dimension (checked by the callers).
Dataset make_dataset(const Array& img, const std::string& path, int64_t first, int64_t count,
                     const Normalization& norm) {
  const bool u8 = img.dtype == DType::kUInt8;
  if (!u8 && img.dtype != DType::kFloat)
    throw DataError(path, std::string("images of dtype ") + dtype_name(img.dtype) +
                              " are not supported (expected uint8 or float32)");
  Dataset ds;
  ds.source = path;
  ds.sample_shape.assign(img.shape.begin() + 1, img.shape.end());
  if (ds.sample_shape.size() == 2) ds.sample_shape.insert(ds.sample_shape.begin(), 1);
  const int64_t per = numel(ds.sample_shape);
  const int64_t channels = ds.sample_shape.size() >= 2 ? ds.sample_shape[0] : 1;
  const int64_t inner = channels > 0 ? per / channels : 0;
  const std::vector<float> mean =
      detail::per_channel(norm.mean, 0.0f, channels, "mean", ds.sample_shape);
  const std::vector<float> stdev =
      detail::per_channel(norm.std, 1.0f, channels, "std", ds.sample_shape);
  for (float s : stdev)
    if (s == 0.0f) throw UsageError("normalization std must be non-zero");

  ds.images.resize(static_cast<size_t>(count * per));
  size_t k = 0;
  for (int64_t n = first; n < first + count; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const float m = mean[static_cast<size_t>(c)], s = stdev[static_cast<size_t>(c)];
      const size_t base = static_cast<size_t>((n * channels + c) * inner);
      for (size_t j = base; j < base + static_cast<size_t>(inner); ++j) {
        float x = u8 ? static_cast<float>(img.i[j]) / 255.0f : img.f[j];
        x = x - m;
        ds.images[k++] = x / s;
      }
    }
  }
  return ds;
}

// The labels of `a` (one integer per sample) after checking type and shape.
std::vector<int64_t> label_values(const Array& a, const std::string& path) {
  if (a.dtype == DType::kFloat)
    throw DataError(path, "labels must be integers (uint8, int32 or int64), got float32");
  if (a.shape.empty() || numel(a.shape) != a.shape[0])
    throw DataError(path, "labels must be one per sample, shape [N], got " + shape_str(a.shape));
  for (size_t k = 0; k < a.i.size(); ++k)
    if (a.i[k] < 0)
      throw DataError(path, "label " + std::to_string(a.i[k]) + " at index " + std::to_string(k) +
                                " is negative");
  return a.i;
}

void check_label_count(const std::vector<int64_t>& labels, const std::string& labels_path,
                       int64_t images, const std::string& images_path) {
  if (static_cast<int64_t>(labels.size()) != images)
    throw DataError(labels_path, std::to_string(labels.size()) + " labels for " +
                                     std::to_string(images) + " images in " + images_path);
}

int64_t limited(int64_t count, int64_t limit) { return limit > 0 ? std::min(count, limit) : count; }

}  // namespace

Split parse_split(const std::string& s) {
  if (s == "train") return Split::kTrain;
  if (s == "val") return Split::kVal;
  if (s == "test") return Split::kTest;
  throw UsageError("unknown split '" + s + "' (expected train, val or test)");
}

int64_t Dataset::size() const {
  if (stream) return stream->size();
  const int64_t per = numel(sample_shape);
  return per > 0 ? static_cast<int64_t>(images.size()) / per : static_cast<int64_t>(labels.size());
}

void Dataset::read(int64_t first, int64_t count, std::span<float> out) const {
  const int64_t per = numel(sample_shape);
  if (first < 0 || count < 0 || first + count > size() || int64_t(out.size()) != count * per)
    throw UsageError("dataset " + source + ": read of samples [" + std::to_string(first) + ", " +
                     std::to_string(first + count) + ") of " + std::to_string(size()) + " into " +
                     std::to_string(out.size()) + " values");
  if (stream) return stream->read(first, count, out);
  std::copy_n(images.begin() + first * per, count * per, out.begin());
}

Dataset materialize(Dataset ds) {
  if (!ds.stream) return ds;
  ds.images.resize(size_t(ds.size() * numel(ds.sample_shape)));
  ds.stream->read(0, ds.size(), ds.images);
  ds.stream.reset();
  return ds;
}

namespace {
// The first `n` samples of another source.
class PrefixSource final : public SampleSource {
 public:
  PrefixSource(std::shared_ptr<const SampleSource> s, int64_t n) : s_(std::move(s)), n_(n) {}
  int64_t size() const override { return n_; }
  void read(int64_t first, int64_t count, std::span<float> out) const override {
    s_->read(first, count, out);
  }

 private:
  std::shared_ptr<const SampleSource> s_;
  int64_t n_;
};
}  // namespace

Dataset first_samples(Dataset ds, int64_t n) {
  n = std::max<int64_t>(0, n);
  if (n >= ds.size()) return ds;
  if (ds.stream)
    ds.stream = std::make_shared<const PrefixSource>(std::move(ds.stream), n);
  else
    ds.images.resize(size_t(n * numel(ds.sample_shape)));
  if (ds.has_labels()) ds.labels.resize(size_t(n));
  return ds;
}

std::vector<int64_t> read_labels(const std::string& path) {
  return label_values(read_array(path), path);
}

Dataset load_mnist_dir(const std::string& dir, Split split, const Normalization& norm,
                       int64_t limit) {
  const std::string prefix = split == Split::kTest ? "t10k" : "train";
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  const Array img = read_idx(images_path);
  if (img.dtype != DType::kUInt8 || img.shape.size() != 3)
    throw DataError(images_path, std::string("expected uint8 images [N,H,W], got ") +
                                     dtype_name(img.dtype) + " " + shape_str(img.shape));
  const std::vector<int64_t> labels = label_values(read_idx(labels_path), labels_path);
  const int64_t n = img.shape[0];
  check_label_count(labels, labels_path, n, images_path);

  int64_t first = 0, count = n;
  if (split != Split::kTest) {
    const bool val = split == Split::kVal;
    if (n < kTrainSplitEnd + (val ? 1 : 0))
      throw DataError(images_path, "has " + std::to_string(n) + " images; the " +
                                       (val ? "val" : "train") + " split needs at least " +
                                       std::to_string(kTrainSplitEnd + (val ? 1 : 0)));
    first = val ? kTrainSplitEnd : 0;
    count = val ? n - kTrainSplitEnd : kTrainSplitEnd;
  }
  count = limited(count, limit);
  Dataset ds = make_dataset(img, images_path, first, count, norm);
  static const char* const kNames[] = {"train", "val", "test"};
  ds.source = images_path + " (" + kNames[static_cast<int>(split)] + ")";
  ds.labels.assign(labels.begin() + first, labels.begin() + first + count);
  return ds;
}

Dataset load_images(const std::string& images, const std::string& labels, const Normalization& norm,
                    int64_t limit) {
  const Array img = read_array(images);
  if (img.shape.empty())
    throw DataError(images, "images must have a batch dimension, got a scalar");
  const int64_t n = img.shape[0];
  std::vector<int64_t> lab;
  if (!labels.empty()) {
    lab = read_labels(labels);
    check_label_count(lab, labels, n, images);
  }
  const int64_t count = limited(n, limit);
  Dataset ds = make_dataset(img, images, 0, count, norm);
  lab.resize(lab.empty() ? 0 : static_cast<size_t>(count));
  ds.labels = std::move(lab);
  return ds;
}

void check_fits(const Dataset& ds, const Shape& input_shape) {
  const bool fits =
      !input_shape.empty() && Shape(input_shape.begin() + 1, input_shape.end()) == ds.sample_shape;
  if (!fits)
    throw DataError(ds.source, "data sample shape " + shape_str(ds.sample_shape) +
                                   " does not fit model input " + shape_str(input_shape));
}

}  // namespace autocompress
