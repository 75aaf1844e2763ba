// Datasets: images (normalized float32, NCHW) with optional integer labels.
// Readers for IDX (MNIST family, raw or .gz) and NumPy .npy (float32 / uint8 images,
// uint8 / int32 / int64 labels; C order; raw or .gz).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

// The Fashion-MNIST split rule, shared with examples/train_fashion.py:
//   train = images [0, 50000) of train-*; val = images [50000, 60000) of train-*;
//   test = t10k-*. Searches optimize on val; test is only for final reports.
enum class Split { kTrain, kVal, kTest };
inline constexpr int64_t kTrainSplitEnd = 50000;
Split parse_split(const std::string& s);  // "train" | "val" | "test", else UsageError

// Per-channel normalization x' = (x - mean[c]) / std[c], applied after uint8 pixels are scaled
// to [0,1]. Empty vectors mean identity; one value applies to every channel.
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
};

// Samples made on demand rather than held in Dataset::images (image folders: decoded images
// cached as uint8, the rest decoded per batch). read() is const and thread-safe.
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual int64_t size() const = 0;
  // Samples [first, first + count) as float32, count * numel(sample_shape) values into `out`.
  // DataError naming the file of an image that cannot be decoded.
  virtual void read(int64_t first, int64_t count, std::span<float> out) const = 0;
};

// A dataset holds its samples in `images`, or, when `stream` is set, makes them on demand
// (`images` empty). Code that indexes `images` directly must call materialize() first; read()
// works for both.
struct Dataset {
  std::string source;
  Shape sample_shape;           // [C,H,W] (or whatever the file holds, without the batch)
  std::vector<float> images;    // size() * numel(sample_shape) values
  std::vector<int64_t> labels;  // empty when unlabelled
  std::shared_ptr<const SampleSource> stream;  // set: samples come from it, `images` is empty
  int64_t size() const;
  bool has_labels() const { return !labels.empty(); }
  // Samples [first, first + count) into `out` (count * numel(sample_shape) values).
  void read(int64_t first, int64_t count, std::span<float> out) const;
};

// `ds` with every sample in `images` and no stream (unchanged when it has no stream).
Dataset materialize(Dataset ds);
// The first `n` samples of `ds` (all of them when n >= size()); a streamed dataset stays
// streamed (the same source, read up to n).
Dataset first_samples(Dataset ds, int64_t n);

// A raw array read from .npy or IDX.
struct Array {
  DType dtype = DType::kFloat;
  Shape shape;
  std::vector<float> f;    // float data (float32 files; float64 converted to float32)
  std::vector<int64_t> i;  // integer data (uint8/int8/int32/int64 files)
};

Array read_idx(const std::string& path);
Array read_npy(const std::string& path);
void write_npy(const std::string& path, const Shape& shape, const std::vector<float>& data);

// A Fashion-MNIST-style directory (train-images-idx3-ubyte[.gz], ... t10k-labels-idx1-ubyte[.gz]).
// `limit` > 0 keeps the first `limit` samples of the split.
Dataset load_mnist_dir(const std::string& dir, Split split, const Normalization& norm,
                       int64_t limit = 0);
// An images file (.npy or IDX, by content) with an optional labels file (.npy or IDX).
// Images of rank 3 [N,H,W] get a channel dimension [N,1,H,W].
Dataset load_images(const std::string& images, const std::string& labels, const Normalization& norm,
                    int64_t limit = 0);

// The labels file `path` (.npy or IDX by content): integers >= 0, one per sample (shape [N]);
// DataError naming the file otherwise.
std::vector<int64_t> read_labels(const std::string& path);

// Check that a sample of `ds` is exactly the model input `input_shape` without its batch
// dimension (kBatch); else DataError naming both shapes. Does not change `ds`.
void check_fits(const Dataset& ds, const Shape& input_shape);

namespace detail {
// One normalization statistic per channel of `sample`: `v` empty (`identity` for all), one value
// (for all) or `channels` values; UsageError naming `what` otherwise.
std::vector<float> per_channel(const std::vector<float>& v, float identity, int64_t channels,
                               const char* what, const Shape& sample);
}  // namespace detail

}  // namespace autocompress
