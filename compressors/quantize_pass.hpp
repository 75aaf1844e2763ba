// The quantize pass: writes the quantization a recipe asks for into the graph as model/graph.hpp's
// quantization conventions say: int8 layers (QDQ weights and input), weight-only quantization under
// fp32/bf16 (wbits < 8; 8 leaves the weights float), bf16 attrs, optional bias correction (Nagel et
// al. 2019). Layers absent from `settings` are left untouched (docs/recipe.md, "How the steps
// work"). Pure function; deterministic; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/precision.hpp"
#include "compressors/calibrate.hpp"
#include "compressors/quant.hpp"
#include "model/graph.hpp"

namespace autocompress {

struct QuantSetting {
  Precision precision = Precision::kFp32;
  int wbits = 8;
  bool operator==(const QuantSetting&) const = default;
};

struct QuantizeOptions {
  bool mse_clipping = true;  // MSE-optimal clip per channel, else max |w| (4-bit: +2.4 points)
  // Nagel et al. 2019. Off by default: on the example model its gain at 4-bit weights is within
  // two paired standard errors (+0.13 points, SE 0.09; BENCHMARKS.md, ablation).
  bool bias_correction = false;
  ActScale act_scale = ActScale::kPercentile;
  double percentile = 99.99;
};

// The activations whose statistics quantize() reads for these settings: quantized tensors
// (ranges, histograms) and the inputs of weight-quantized layers (channel means, when bias
// correction is on).
std::vector<std::string> quantize_needs(const Graph& g,
                                        const std::map<std::string, QuantSetting>& settings,
                                        const QuantizeOptions& o);

// Apply `settings` (node name -> setting; Conv/Gemm only). Throws UsageError naming a node that
// is not a Conv/Gemm of g, ModelError when a needed tensor has no statistics in `stats`.
Graph quantize(const Graph& g, const std::map<std::string, QuantSetting>& settings,
               const ActivationStats& stats, const QuantizeOptions& o,
               std::vector<std::string>* notes = nullptr);

// Initializers no node reads are dropped (after a transformation replaced them).
void drop_unused_initializers(Graph& g);

}  // namespace autocompress
