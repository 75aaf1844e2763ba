// The graph IR of autocompress: what the ONNX loader produces, the compressors transform, the
// evaluators run and the ONNX writer writes back.
//
// The IR is *canonical*: the loader resolves ONNX's many spellings into one form per op, so the
// consumers of the IR never see opset differences. Canonical ops and their contracts:
//
//   Conv        in: X [N,C,H,W], W [M, C/group, kH, kW], optional B [M]
//               attrs: strides[2], pads[4] (top, left, bottom, right; auto_pad resolved),
//                      dilations[2], group
//   Gemm        in: X [N,K], W [M,K], optional B [M];  Y = X * W^T + B
//               (ONNX alpha/beta/transB and MatMul(+Add) are folded into W/B by the loader)
//               Conv and Gemm may carry attr precision ("fp32" default, "bf16", "int8"): the
//               compute mode a compressor chose; weights stay float32 in the IR
//   BatchNormalization  in: X, scale, B, mean, var (all [C]); attrs: epsilon
//   Relu, Sigmoid, HardSwish
//   Clip        attrs: min, max (floats; -inf/+inf when absent)
//   LeakyRelu   attrs: alpha
//   HardSigmoid attrs: alpha, beta
//   MaxPool     attrs: kernel_shape[2], strides[2], pads[4], dilations[2], ceil_mode
//   AveragePool attrs: kernel_shape[2], strides[2], pads[4], ceil_mode, count_include_pad
//   GlobalAveragePool
//   ReduceMean  attrs: axes (sorted, non-negative), keepdims
//   Pad         attrs: pads (ONNX order: all begins then all ends, one per dim), value (float)
//   Add, Sub, Mul, Div   two inputs, ONNX multidirectional broadcasting; either may be a weight
//   Concat      attrs: axis (non-negative)
//   Flatten     attrs: axis (non-negative)
//   Reshape     attrs: shape (fully resolved output shape; kBatch marks the batch dimension);
//               Squeeze / Unsqueeze of activations also become Reshape
//   Transpose   attrs: perm
//   Softmax     attrs: axis (non-negative), coerce_2d (1 = opset < 13 semantics: the input is
//               flattened to 2-D at axis and the softmax taken over the whole trailing block)
//
//   QuantizeLinear    in: X (float), y_scale (float initializer: scalar or [1] for one grid, or
//                     [C] per axis), optional y_zero_point (uint8 or int8 initializer shaped like
//                     y_scale; its dtype is Y's dtype, uint8 when absent); attrs: axis
//                     (non-negative; optional, default 1 as in ONNX; only read for [C] scales,
//                     where C must equal X's extent along axis, never the batch).
//                     Y = saturate(round_half_to_even(X / y_scale) + y_zero_point), the division
//                     in float32; scales finite and non-zero.
//   DequantizeLinear  in: X (uint8 / int8 / int32 activation or initializer), x_scale,
//                     optional x_zero_point (X's dtype; 0 for int32); attrs: axis as above.
//                     Y = (X - x_zero_point) * x_scale, float32
//               A non-constant scale or zero point is an UnsupportedError, a zero point of the
//               wrong type a ModelError, both naming the node (infer_node_shapes checks them).
//               These are ONNX's QDQ ops, kept as they are: a quantized model *is* its QDQ graph,
//               so the loader reads QDQ files into the same IR the compressors produce, and the
//               reference executor runs it literally (the float simulation of the quantization).
//               The oneDNN executor lowers the patterns below to integer primitives.
//
// Quantization conventions (what compressors/quant writes and evaluator/ lowers):
//   * An int8 layer:   x_q -DQ-> x -> Conv/Gemm -> [BN/act post-ops] [Add(DQ(r_q)) [act]] -> y
//                      -Q-> y_q, with W = DQ(w_q) where w_q is an int8 initializer (values in
//                      +-(2^(wbits-1)-1)), per-output-channel scale, zero point 0, axis 0; the
//                      bias stays float. Activation scales are per tensor; u8 with zero point 0
//                      after ReLU (or any tensor >= 0), s8 with zero point 0 otherwise.
//                      The layer carries attr precision "int8" and attr wbits.
//   * A quantized tensor has exactly one QuantizeLinear (right after its producer) and one
//     DequantizeLinear, whose float output every former consumer reads: a tensor is quantized
//     once, with one scale, whoever reads it. Max/avg pooling, Reshape/Flatten and Concat of
//     quantized tensors are re-quantized with their input's scale (Concat inputs share one scale)
//     so that the executor can keep them in int8.
//   * Weight-only quantization under fp32/bf16 (precision != int8): W = DQ(w_q) as above, the
//     layer's input is float; executors dequantize the weights once at compile time.
//   * bf16 layers carry attr precision "bf16" (and wbits when weights are quantized); in ONNX
//     files they are written as Cast pairs (input -> Cast(bfloat16) -> Cast(float), weights
//     stored bfloat16 -> Cast(float) when they are exact bfloat16 values read only by bf16
//     layers) and read back into the attribute. Executors round the layer's input and weights to
//     bfloat16 (round_to_bf16); the reference keeps the bias and the output in float32.
//   Attributes precision and wbits never appear as ONNX node attributes (the checker rejects
//   them): the writer puts them in metadata_props autocompress.precision.<layer> and
//   autocompress.wbits.<layer>, which the loader reads back (onnx_io.hpp).
//
// Identity, Dropout (inference) and Constant never appear: the loader removes / folds them, as it
// folds the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains torch emits for flatten.
//
// Activations are float32, except the uint8/int8 outputs of QuantizeLinear. Shapes are concrete
// except the batch dimension, written kBatch. Initializers of dtype kInt8/kUInt8/kInt32 keep
// their values in TensorData::i.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace autocompress {

// The symbolic batch dimension inside a Shape.
inline constexpr int64_t kBatch = -1;

using Shape = std::vector<int64_t>;

// Element types, numbered as onnx::TensorProto_DataType so conversion is a cast.
enum class DType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kBFloat16 = 16,
};
const char* dtype_name(DType t);

// Number of elements of a concrete shape (throws std::invalid_argument on kBatch).
int64_t numel(const Shape& s);
// Shape with kBatch replaced by `batch`.
Shape with_batch(const Shape& s, int64_t batch);
// "[N,3,32,32]"
std::string shape_str(const Shape& s);

// A constant tensor (weights, biases, BN statistics, shape constants).
// Floating tensors keep their values in `f`; integer tensors in `i`.
struct TensorData {
  DType dtype = DType::kFloat;
  Shape shape;  // concrete
  std::vector<float> f;
  std::vector<int64_t> i;

  int64_t size() const { return numel(shape); }
  bool is_float() const {
    return dtype == DType::kFloat || dtype == DType::kDouble || dtype == DType::kFloat16 ||
           dtype == DType::kBFloat16;
  }
};

// Static description of a tensor flowing through the graph.
struct ValueInfo {
  std::string name;
  DType dtype = DType::kFloat;
  Shape shape;
};

using AttrValue =
    std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>>;

struct Node {
  std::string name;                 // unique in the graph; for Conv/Gemm the stable layer name
  std::string op;                   // canonical op type (see the list above)
  std::vector<std::string> inputs;  // tensor names; "" marks an absent optional input
  std::vector<std::string> outputs;
  std::map<std::string, AttrValue> attrs;

  bool has(const std::string& key) const { return attrs.count(key) != 0; }
  // Typed attribute access; throw ModelError naming the node and attribute on a wrong type.
  int64_t i(const std::string& key, int64_t def) const;
  int64_t i(const std::string& key) const;
  float f(const std::string& key, float def) const;
  float f(const std::string& key) const;
  const std::vector<int64_t>& ints(const std::string& key) const;
};

// Information about a weighted layer (Conv / Gemm), for inspect and the compressors.
struct LayerInfo {
  std::string name;
  std::string op;
  Shape input;
  Shape output;
  int64_t params = 0;  // weight + bias elements
  int64_t macs = 0;    // multiply-accumulates per sample
};

struct Graph {
  std::string name;
  int64_t opset = 13;
  std::string source;                                 // file it was loaded from, for messages
  std::vector<std::string> inputs;                    // graph inputs (never initializers)
  std::vector<std::string> outputs;                   // graph outputs
  std::vector<Node> nodes;                            // topological order
  std::unordered_map<std::string, ValueInfo> values;  // every tensor, initializers included
  std::unordered_map<std::string, TensorData> initializers;
  std::map<std::string, std::string> metadata;  // ONNX metadata_props (e.g. preprocessing)

  bool is_initializer(const std::string& t) const { return initializers.count(t) != 0; }
  // Throw ModelError naming the tensor when absent.
  const ValueInfo& value(const std::string& t) const;
  const TensorData& initializer(const std::string& t) const;
  // The node producing `t`, or nullptr for graph inputs / initializers.
  const Node* producer(const std::string& t) const;
  // Nodes reading `t`, in schedule order.
  std::vector<const Node*> consumers(const std::string& t) const;
  const Node* find_node(const std::string& name) const;
};

// MACs per sample of one node (0 for nodes without multiplications worth counting).
int64_t node_macs(const Graph& g, const Node& n);
// Conv and Gemm layers in schedule order.
std::vector<LayerInfo> weighted_layers(const Graph& g);

// Output shapes of the canonical node `n`, computed from the shapes of its inputs in g.values
// (pooling with ceil_mode, conv with dilations/groups, ONNX multidirectional broadcasting, ...).
// Validates the inputs: throws ModelError naming the node and both sides of a mismatch (channel
// counts, Gemm K, BN parameter sizes, broadcast shapes), UnsupportedError when the batch
// dimension would move away from dim 0 or be mixed with other dimensions.
std::vector<Shape> infer_node_shapes(const Graph& g, const Node& n);
// The element type of n's output: for QuantizeLinear its zero point's type (uint8 when absent),
// float32 for every other op.
DType node_output_dtype(const Graph& g, const Node& n);
// Recompute g.values of every node output in schedule order (e.g. after a transformation
// changed a weight's shape), with types from node_output_dtype.
void infer_shapes(Graph& g);
// QuantizeLinear of one value: saturate(round_half_to_even(x / scale) + zero_point) to the range
// of `type` (kUInt8 or kInt8), the division in float32 as ONNX defines it.
int64_t quantize_value(float x, float scale, int64_t zero_point, DType type);
// Whether n is an int8 layer by the QDQ pattern of the conventions above: a Conv/Gemm whose input
// is DequantizeLinear of an activation and whose weight is DequantizeLinear of an int8
// initializer.
bool is_qdq_int8_layer(const Graph& g, const Node& n);
// x rounded to the nearest bfloat16 (ties to even), as float32; NaN stays NaN. What a bf16
// layer does to its input and weights (the reference executor and the ONNX writer use it).
float round_to_bf16(float x);
// ONNX multidirectional broadcast of two shapes; std::nullopt when incompatible.
// kBatch broadcasts only against kBatch or 1.
std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace autocompress
