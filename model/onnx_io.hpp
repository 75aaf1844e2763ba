// ONNX in and out: onnx::ModelProto <-> canonical Graph (see graph.hpp for the canonical ops).
#pragma once

#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

// How load_onnx reads the shapes of the graph inputs.
struct LoadOptions {
  // true (the default): dim 0 of the graph inputs is the batch, written kBatch in the IR, and the
  // evaluator chooses the batch size at compile time. The exact rule:
  //   - dim 0 of the first graph input is always the batch, whether the file declares it
  //     symbolic (a dim_param, no value, or a value <= 0) or concrete;
  //   - dim 0 of any further graph input is the batch when it is symbolic, or when that input has
  //     the first input's rank and the same concrete dim 0 as the file declares for the first
  //     input; otherwise (e.g. a [5] operand broadcast against [3,4,5]) the input keeps its
  //     concrete shape, unbatched;
  //   - every other dimension of every input must be concrete (UnsupportedError otherwise);
  //   - a Reshape keeps the batch at dim 0 when its target's dim 0 is 0 (copy), -1 resolving to
  //     exactly the batch, or the concrete batch value the file declares for the first input.
  // The batch must stay dim 0 of every activation it reaches, unmixed, so these are refused with
  // UnsupportedError: Transpose moving it, Unsqueeze at axis 0, Flatten at axis 0 (or at axis
  // k > 1 unless dims 1..k-1 are all 1), a Reshape merging or splitting it, Concat / Softmax /
  // ReduceMean / Pad / Squeeze over axis 0, a binary op broadcasting it against a fixed size,
  // and arithmetic on it inside folded shape computations.
  //
  // false: every shape stays exactly as the file declares it (concrete). Ops over axis 0 are then
  // ordinary ops and load like any other, but the model runs only at its declared shapes (the
  // executors compare the inputs exactly). Every dimension of every graph input must be concrete
  // (a dim_value >= 0; 0 is a zero-size dimension): a symbolic or unknown dimension is an
  // UnsupportedError naming the input and the dimension.
  //
  // Either way graph inputs need rank >= 1 and are float32, or uint8 / int8 when only
  // DequantizeLinear reads them; activations are float32 except QuantizeLinear's outputs.
  bool symbolic_batch = true;
};

// Load an ONNX model (opsets 9-17) into the canonical IR: checks the model with
// onnx::checker, folds constants (Constant, Identity, Dropout, torch's Shape->Gather->Unsqueeze->
// Concat->Reshape chains, Q/DQ of constants), normalizes every op to its canonical form, infers
// all shapes (with a symbolic batch dimension unless options.symbolic_batch is false, see
// LoadOptions), schedules topologically and names every Conv/Gemm stably.
// Quantized models (graph.hpp, "Quantization conventions"): QuantizeLinear / DequantizeLinear
// stay IR ops; DequantizeLinear of an int8/uint8 initializer is kept as the weight's node (never
// folded); QLinearConv becomes Q(Conv(DQ(x), DQ(w), float bias)); MatMul / Gemm(transB=0) of a
// DequantizeLinear weight read it transposed (w_q transposed, axis 0 <-> 1). A Cast to bfloat16
// and back feeding only Conv/Gemm/MatMul inputs sets precision "bf16" on the layer (the Casts
// vanish; bfloat16 weights load as float32). metadata_props autocompress.precision.<layer> and
// autocompress.wbits.<layer> become the layer's attributes (ModelError when no such layer); in
// files other tools wrote, a Conv/Gemm of the QDQ int8 pattern (is_qdq_int8_layer) gets
// precision "int8".
// Throws IoError (cannot read), ModelError (malformed, truncated, missing initializer, shape
// mismatch: names the node and what was expected), UnsupportedError (op type, node, and the list
// of supported ops).
Graph load_onnx(const std::string& path);
Graph load_onnx(const std::string& path, const LoadOptions& options);
Graph load_onnx_bytes(const std::string& bytes, const std::string& source_name);
Graph load_onnx_bytes(const std::string& bytes, const std::string& source_name,
                      const LoadOptions& options);

// Op types the loader accepts (ONNX names, before canonicalization).
const std::vector<std::string>& supported_onnx_ops();

// Write the IR as a valid ONNX model (opset max(13, graph.opset)); batch dimension written as the
// symbolic dim "N". Round-trips: load_onnx(save_onnx(g)) computes the same function as g, and
// for graphs in canonical form (what the loader and the compressors produce) is the same IR:
// nodes, attributes, initializer types and values. The bytes are deterministic. Quantized and
// bf16 layers are written as load_onnx reads them back: Q/DQ nodes (opset 13, int8/uint8
// initializers), Cast pairs and bfloat16 weights for bf16 layers, precision and wbits in
// metadata_props (never as node attributes, which the ONNX checker rejects).
std::string to_onnx_bytes(const Graph& g);
void save_onnx(const Graph& g, const std::string& path);

// Read a serialized onnx::TensorProto (the backend test suite's input_*.pb / output_*.pb).
TensorData read_tensor_proto(const std::string& path);

}  // namespace autocompress
