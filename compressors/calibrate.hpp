// Activation statistics on calibration data, for activation scales (compressors/quant.hpp) and
// bias correction: per tensor its min / max, a histogram of |x| and the mean of every entry of
// axis 1 (channels; features of a 2-D tensor). Collected once per model and calibration set
// (ApplyContext in compressors/apply.hpp keeps them) by running the float model with the wanted
// tensors added as graph outputs on the oneDNN evaluator: one pass for ranges and means, a second
// for the histograms over [0, max|x|].
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "compressors/quant.hpp"
#include "data/dataset.hpp"
#include "evaluator/executor.hpp"
#include "model/graph.hpp"

namespace autocompress {

struct TensorStats {
  double min = 0, max = 0;
  AbsHistogram hist;
  std::vector<double> channel_mean;  // per entry of axis 1
  int64_t count = 0;                 // values seen
};
using ActivationStats = std::map<std::string, TensorStats>;

struct CalibOptions {
  int64_t batch = 128;  // oneDNN batch, at most (see calibration_batch)
  // The fetched tensors of one batch stay in memory together: the batch shrinks so that they fit
  // this many bytes (at least one image per batch).
  int64_t max_batch_bytes = int64_t(256) << 20;
  int threads = 0;  // 0 = all cores
  int bins = 2048;  // histogram bins
};

// The batch a calibration pass runs: o.batch, at most the dataset's `images` (a larger batch
// would only allocate for images that are not there) and at most as many images as fit
// o.max_batch_bytes at `bytes_per_image` of fetched tensors; never below 1.
int64_t calibration_batch(const CalibOptions& o, int64_t images, int64_t bytes_per_image);

// Runs `g` (float; Conv/Gemm precision attributes honoured) over `ds` in batches of
// calibration_batch(o, ...) with `tensors` (activations or graph inputs) fetched; calls f(tensor
// index -> HostTensor) per batch. Throws DataError when the dataset does not fit the model's input.
void for_each_calibration_batch(
    const Graph& g, const std::vector<std::string>& tensors, const Dataset& ds,
    const CalibOptions& o, const std::function<void(const std::vector<const HostTensor*>&)>& f);

// Statistics of `tensors` (float activations or graph inputs of g) on `ds`.
ActivationStats collect_activation_stats(const Graph& g, const Dataset& ds,
                                         const std::vector<std::string>& tensors,
                                         const CalibOptions& o);

// Every float activation of `g` (graph inputs included) that a quantize pass may quantize:
// inputs and outputs of every node except the graph outputs' producers' outputs.
std::vector<std::string> quantizable_tensors(const Graph& g);

}  // namespace autocompress
