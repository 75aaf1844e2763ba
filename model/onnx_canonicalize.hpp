// Canonicalization in the ONNX loader: each ONNX node that is not folded is rewritten to its
// canonical IR form (graph.hpp) with the concrete shapes of its inputs (auto_pad, Reshape targets,
// MatMul as Gemm, Squeeze / Unsqueeze as Reshape, ...) and emitted into the context.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "model/onnx_context.hpp"

namespace autocompress::onnx_loader {

// Emits the canonical form of p. Throws UnsupportedError / ModelError naming the node.
void canonicalize(LoadContext& ctx, const onnx::NodeProto& p);

// A node of op `op` reading `inputs` and writing p's first output.
Node make_node(const onnx::NodeProto& p, const std::string& op, std::vector<std::string> inputs);

// Conv of x by w (+ b) into y, with the attributes of the ONNX Conv or QLinearConv p.
void emit_conv(LoadContext& ctx, const onnx::NodeProto& p, const std::string& x,
               const std::string& w, const std::string& b, const std::string& y);

// A Conv / Gemm reading its input through a bf16 Cast pair is a bf16 layer (graph.hpp).
void set_bf16(const LoadContext& ctx, const onnx::NodeProto& p, Node& n);

}  // namespace autocompress::onnx_loader
