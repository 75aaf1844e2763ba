// Constant folding in the ONNX loader: Constant nodes, and nodes whose inputs are all constants
// (plus Shape of any tensor), evaluated at load time. Inside shape computations the batch is
// carried as kBatchSentinel; arithmetic on it is refused.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "model/onnx_context.hpp"

namespace autocompress::onnx_loader {

// The value of a Constant node.
TensorData constant_node(const LoadContext& ctx, const onnx::NodeProto& p);

// Ops fold() evaluates.
bool can_fold(const std::string& op);
// Ops the loader only evaluates at load time (shape computations), never as canonical nodes.
bool is_fold_only(const std::string& op);

// The output of p, whose inputs are constants (Shape: any tensor of known shape). Throws
// ModelError / UnsupportedError naming the node, std::length_error for a tensor too large to fold.
TensorData fold(const LoadContext& ctx, const onnx::NodeProto& p);

}  // namespace autocompress::onnx_loader
