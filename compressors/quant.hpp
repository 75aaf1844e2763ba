// Quantization math, pure functions over plain data (the graph pass is compressors/quantize_pass):
// symmetric per-channel weight quantization with max-abs or MSE-optimal clipping (Banner et al.
// 2019; Choukroun et al. 2019), bias correction (Nagel et al. 2019), per-tensor activation scales
// from |x| histograms (min-max, percentile, MSE). Details: docs/recipe.md, "How the steps work".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace autocompress {

// Largest integer level of a symmetric b-bit grid: 2^(b-1) - 1. Throws UsageError outside 2..8.
int weight_levels(int bits);

// round_half_to_even(x / scale) clamped to [-levels, levels]; 0 when scale is 0.
int64_t quantize_value(float x, float scale, int64_t levels);

// Squared error of quantizing `w` with `scale` on the grid +-levels.
double quantization_sse(std::span<const float> w, float scale, int64_t levels);

// Scale of one channel: max|w| / levels (naive), or the MSE-optimal clip over the ratios
// 1.00, 0.98, ..., 0.20 of max|w| (ties keep the larger clip). 0 for an all-zero channel.
float maxabs_scale(std::span<const float> w, int64_t levels);
float mse_scale(std::span<const float> w, int64_t levels);

// Per-output-channel quantized weights. `w` is [channels, rest] row-major.
struct QuantizedWeights {
  int bits = 8;
  std::vector<int64_t> q;    // same layout as w, values in [-levels, levels]
  std::vector<float> scale;  // [channels]
};
QuantizedWeights quantize_weights(std::span<const float> w, int64_t channels, int bits,
                                  bool mse_clip);
// q * scale[channel], float32 (what DequantizeLinear computes).
std::vector<float> dequantize_weights(const QuantizedWeights& qw);

// The bias shift (W_q - W) E[x] per output channel. `w` / `wq` are [M, C/group, taps] row-major
// (taps = kH*kW, 1 for a Gemm), `input_mean` the mean of each of the C input channels (features
// for a Gemm). Subtract the result from the bias.
std::vector<double> bias_shift(std::span<const float> w, std::span<const float> wq, int64_t m,
                               int64_t group, int64_t taps, std::span<const double> input_mean);

// Activation clip methods (per tensor).
enum class ActScale { kMinMax, kPercentile, kMse };
const char* act_scale_name(ActScale m);
ActScale parse_act_scale(const std::string& s);  // "minmax" | "percentile" | "mse", UsageError

// A histogram of |x|: counts[i] counts values in [i, i+1) * max_abs / counts.size()
// (the last bin includes max_abs).
struct AbsHistogram {
  double max_abs = 0;
  std::vector<double> counts;
};

// The clip threshold c of a tensor for a grid with `levels` steps on [0, c] (255 for u8, 127 for
// s8): max_abs (kMinMax), the `percentile` of |x| (kPercentile; upper edge of the bin reaching
// it), or the bin edge minimising the expected squared error, rounding noise step^2/12 inside
// plus (|x| - c)^2 outside (kMse). 0 for an empty or all-zero histogram.
double activation_clip(const AbsHistogram& h, ActScale method, int64_t levels,
                       double percentile = 99.99);

}  // namespace autocompress
