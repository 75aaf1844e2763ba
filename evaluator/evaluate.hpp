// Evaluation of an executor over a dataset: metrics, throughput, optional outputs.
#pragma once

#include <span>
#include <vector>

#include "data/dataset.hpp"
#include "evaluator/executor.hpp"
#include "evaluator/metrics.hpp"

namespace autocompress {

struct EvalResult {
  Metrics metrics;
  int64_t classes = 0;
  double seconds = 0;  // wall time of the batches (compile excluded)
  double images_per_s = 0;
  std::vector<float> outputs;  // size() x classes, when requested
};

// Run `ex` over `ds` in batches of `batch` (the last batch may be smaller). `reference` (empty or
// size() x classes logits of the original model) adds agreement and KL to the metrics.
EvalResult evaluate(Executor& ex, const Graph& g, const Dataset& ds, int64_t batch,
                    std::span<const float> reference = {}, bool keep_outputs = false);

// The preprocessing a model declares in its ONNX metadata ("autocompress.normalize.mean" /
// ".std", comma-separated per channel); identity when absent. Malformed values: ModelError.
Normalization model_normalization(const Graph& g);

}  // namespace autocompress
