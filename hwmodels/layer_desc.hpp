// Plain layer descriptions: what the hardware models cost. describe() turns a canonical Graph into
// the schedule a target runs (one entry per fused operation, plus the reorders at precision-mode
// boundaries); everything else in hwmodels/ works on these structs alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/precision.hpp"
#include "model/graph.hpp"

namespace autocompress {

// Precision (common/precision.hpp): kInt8 means integer compute; on bit-flexible targets its
// operand widths are LayerPrecision::wbits / abits (1..8).
// "fp32" | "bf16" | "int8"; throws UsageError naming `field` on anything else.
Precision parse_mode(const std::string& s, const std::string& field);

// The precision of one layer as a recipe chooses it. 0 bits = the mode's natural width.
// Weight-only quantization is a float mode with wbits < 32 (e.g. {kFp32, 4, 0}).
struct LayerPrecision {
  Precision mode = Precision::kFp32;
  int wbits = 0;
  int abits = 0;
};

enum class LayerKind { kConv, kDepthwise, kGemm, kPool, kEltwise, kBatchNorm, kConcat, kReorder };
const char* kind_name(LayerKind k);

// One operation of the schedule. Activations are [batch, c, h, w] (2-D tensors: h = w = 1).
struct LayerDesc {
  std::string
      name;  // the graph node (Conv/Gemm: the stable layer name); reorders: "reorder:<tensor>"
  LayerKind kind = LayerKind::kConv;
  int64_t batch = 1;
  int64_t c_in = 0, c_out = 0;  // Concat: c_in = sum of the inputs' channels
  int64_t h_in = 1, w_in = 1, h_out = 1, w_out = 1;
  int64_t kh = 1, kw = 1, stride = 1, groups = 1;  // pooling: the window (global pool: h_in x w_in)
  double taps = 0;        // Conv: mean kernel taps inside the input per output pixel (0: kh * kw)
  int64_t inputs = 1;     // activation tensors read in full (Add of two activations: 2)
  bool residual = false;  // also reads an output-shaped tensor (residual Add fused as sum post-op)
  Precision precision = Precision::kFp32;
  int wbits = 0;   // weight bits (0: no weights)
  int abits = 32;  // bits of the activations read
  int obits = 32;  // bits of the activations written (a reorder's destination width)
  // 8-bit integer activations are u8 unless these say s8 (read / written). oneDNN's VNNI kernels
  // multiply u8 x s8: an s8 source costs a shift and a compensation term.
  bool s8_in = false, s8_out = false;
  // kReorder only: a QuantizeLinear / DequantizeLinear node of the graph (named after the node),
  // which the evaluator runs, and measure() times, as a step of its own. false: a conversion
  // describe() infers at a precision-mode boundary, which oneDNN folds into the reading layer.
  bool graph_op = false;
  // Host measurement context (hwmodels/measure.hpp, weights_context): 1 when the whole model's
  // weights fit this host's last-level cache (they stay there between runs), 0 when they do not,
  // -1 when not recorded. describe() leaves it -1.
  int llc = -1;
};

// The precision a compressed graph carries on its Conv/Gemm nodes (attrs "precision" and "wbits",
// model/graph.hpp), as describe()'s per_layer map: an int8 layer reads 8-bit activations; a float
// layer with wbits below its mode's width has quantized weights. Nodes without the attributes are
// left out (they take describe()'s fallback). In a QDQ graph a layer marked int8 that the
// evaluator runs in float (a stem with fewer than 4 input channels, evaluator/fusion.hpp) is
// reported as fp32 with its weight bits (its weights are dequantized at compile time).
// Throws ModelError naming a node whose precision attribute is not fp32/bf16/int8.
std::map<std::string, LayerPrecision> graph_precisions(const Graph& g);

// Multiply-accumulates (Conv/Gemm) or elementary operations (pooling: one per window element,
// element-wise / BN / reorder / concat: one per output element), without channel padding.
int64_t layer_macs(const LayerDesc& d);

// The schedule of g at `batch`, mirroring the oneDNN evaluator's fusion (evaluator/fusion.hpp):
// Conv/Gemm absorb a following BatchNormalization, activations and one residual Add whose other
// operand is computed earlier; Add/Sub/Mul/Div absorb following activations; Flatten / Reshape are
// free views. Standalone BN, pooling (incl. global and ReduceMean), element-wise ops (activations,
// binary ops, Softmax, Pad, Transpose) and Concat are layers of their own.
// Precision: Conv/Gemm take per_layer[name] if present, else `fallback`; every other layer runs
// in the mode of its first activation input. The graph input and output are fp32. Wherever a layer
// reads a tensor produced in another mode, a kReorder layer converting it is inserted (once per
// tensor and destination mode); within one mode requantization to other bit widths is fused.
// Quantized (QDQ) graphs are described as the oneDNN evaluator lowers them (evaluator/fusion.hpp,
// conventions in model/graph.hpp): DQ(x_q) -> Conv/Gemm (weights DQ of an int8 initializer) ->
// BN / activations / residual Add (read as r_q when it is DQ(r_q)) -> Q is one int8 layer reading
// x_q (u8/s8), writing the Q's output (else float32), wbits from the node's attribute (8 when
// absent); pooling, Concat, Flatten and Reshape between DQ and Q of one grid run in int8; every
// other QuantizeLinear and every DequantizeLinear whose float output something reads is a kReorder
// step named after its node (graph_op). Weight-only DQ under fp32/bf16 is that mode with wbits.
// Throws UsageError naming the layer for bits outside 1..natural width of the mode, and
// ModelError naming a per_layer entry that is not a Conv/Gemm of g.
std::vector<LayerDesc> describe(const Graph& g, int64_t batch,
                                const std::map<std::string, LayerPrecision>& per_layer = {},
                                const LayerPrecision& fallback = {});

}  // namespace autocompress
