// The model a costing graph stands for, runnable by the oneDNN evaluator, so that int8 and
// weight-quantized recipes can be measured without the user's calibration data.
//
// A costing graph (cli `profile --recipe`, bench/hw_prediction_study) carries the recipe's modes
// as Conv/Gemm attributes only (precision, wbits; model/graph.hpp). runnable_model() writes them
// into the graph with the quantize pass (compressors/quantize_pass.hpp), exactly as `apply` does,
// but with activation statistics from a fixed synthetic input instead of calibration data: latency
// depends on the shapes, the modes and whether an 8-bit tensor is u8 or s8 (>= 0 or not), not on
// the scales. The synthetic input has both signs, as normalized images do, and ReLU outputs stay
// >= 0 whatever the input, so the u8/s8 choices are those of the real model.
#pragma once

#include <string>
#include <vector>

#include "compressors/calibrate.hpp"
#include "model/graph.hpp"

namespace autocompress {

// g with its int8 / weight-quantized layers quantized (QDQ), for measuring; g itself when there is
// nothing to quantize. `samples`: synthetic inputs the statistics are collected on.
Graph runnable_model(const Graph& g, int64_t samples = 8);

// The signs runnable_model() sees: min and max of every activation of g (a graph with weights)
// on its synthetic input, without histograms. For runnable_structure() of g's compressed forms.
ActivationStats synthetic_signs(const Graph& g, int64_t samples = 8);

// runnable_model()'s nodes, dtypes and shapes for a costing graph whose initializers may hold
// shapes only (no values): the quantize pass placed on `signs` (from synthetic_signs() of the
// uncompressed model; a quantized tensor without an entry, such as a low-rank factor's output,
// counts as signed), scales left at 1. For describe() only: what the search costs per candidate
// in microseconds instead of calibrating.
Graph runnable_structure(const Graph& g, const ActivationStats& signs);

}  // namespace autocompress
