// ONNX in and out: onnx::ModelProto <-> canonical Graph (see graph.hpp for the canonical ops).
#pragma once

#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

// Load an ONNX model (opsets 9-17) into the canonical IR: checks the model with
// onnx::checker, folds constants (Constant, Identity, Dropout, torch's Shape->Gather->Unsqueeze->
// Concat->Reshape chains), normalizes every op to its canonical form, infers all shapes with a
// symbolic batch dimension, schedules topologically and names every Conv/Gemm stably.
// Throws IoError (cannot read), ModelError (malformed, truncated, missing initializer, shape
// mismatch: names the node and what was expected), UnsupportedError (op type, node, and the list
// of supported ops).
Graph load_onnx(const std::string& path);
Graph load_onnx_bytes(const std::string& bytes, const std::string& source_name);

// Op types the loader accepts (ONNX names, before canonicalization).
const std::vector<std::string>& supported_onnx_ops();

// Write the IR as a valid ONNX model (opset max(13, graph.opset)); batch dimension written as the
// symbolic dim "N". Round-trips: load_onnx(save_onnx(g)) computes the same function as g.
std::string to_onnx_bytes(const Graph& g);
void save_onnx(const Graph& g, const std::string& path);

// Read a serialized onnx::TensorProto (the backend test suite's input_*.pb / output_*.pb).
TensorData read_tensor_proto(const std::string& path);

}  // namespace autocompress
