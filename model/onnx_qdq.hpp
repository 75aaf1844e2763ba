// Quantization in the ONNX loader (graph.hpp, "Quantization conventions"): QuantizeLinear /
// DequantizeLinear kept as IR ops, QLinearConv lowered to Q(Conv(DQ(x), DQ(w), float bias)), and
// layer weights given as DequantizeLinear of an int8/uint8 initializer (read transposed for
// MatMul and Gemm without transB). Q/DQ of constants is folded by onnx_fold.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "model/onnx_context.hpp"

namespace autocompress::onnx_loader {

// QuantizeLinear / DequantizeLinear of an activation, with constant scale and zero point.
void quantize_linear(LoadContext& ctx, const onnx::NodeProto& p);
// QLinearConv (opset 10) in QDQ form; its int32 bias is dequantized at load time.
void qlinear_conv(LoadContext& ctx, const onnx::NodeProto& p);

// The DequantizeLinear node producing t from a constant, or nullptr.
const Node* weight_dq(const LoadContext& ctx, const std::string& t);
// The shape of a layer's weight (input k of p): a constant, or DequantizeLinear of one.
const Shape& weight_shape(const LoadContext& ctx, const onnx::NodeProto& p, int k,
                          const std::string& role);
// The transpose of the 2-D weight input k (MatMul's B, Gemm's B without transB): a new constant,
// or for W = DequantizeLinear(w_q) a new DequantizeLinear of w_q transposed (axis 0 <-> 1).
std::string transposed_weight(LoadContext& ctx, const onnx::NodeProto& p, int k,
                              const std::string& role);

}  // namespace autocompress::onnx_loader
