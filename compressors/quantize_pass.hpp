// The quantize pass: writes the quantization a recipe asks for into the graph, exactly as the IR
// contract in model/graph.hpp ("Quantization conventions") says.
//
// - int8 layers (Conv/Gemm with QuantSetting::precision kInt8): weights become
//   DequantizeLinear(int8 initializer, per-output-channel scale, zero point 0, axis 0) at `wbits`;
//   the layer's data input is quantized (per tensor, u8 when >= 0 on calibration data, else s8).
//   Attrs precision "int8", wbits.
// - A quantized tensor gets one QuantizeLinear right after its producer (at the top for a graph
//   input) and one DequantizeLinear that every former consumer reads. Through MaxPool,
//   AveragePool, GlobalAveragePool, Flatten, Reshape and Concat a quantized output quantizes
//   their inputs too, with one shared scale (the largest clip of the class; Concat inputs share
//   one), so executors can keep these ops in int8. So the output of an int8 layer is quantized
//   exactly when a consumer (possibly behind such ops) is an int8 layer.
// - fp32 / bf16 layers with wbits < 8: weight-only quantization, W = DequantizeLinear(w_q), input
//   float. wbits 8 under fp32/bf16 leaves the weights float: 8 is the recipe default, so a
//   recipe that only picks float modes must leave the model's weights untouched (and 8-bit
//   weight-only quantization would save bytes but no time on this CPU). bf16 layers get attr
//   precision "bf16".
// - Bias correction (Nagel et al. 2019), optional, for every layer whose weights were quantized:
//   b' = b - (W_q - W) E[x] with E[x] the per-channel means of its input in `stats`.
// Layers absent from `settings` are left untouched. Pure function; deterministic; thread-safe.
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
