// The per-op builders of a oneDNN plan: each fused op (fusion.hpp) lowered to its steps
// (primitives, reorders, fills, plain loops) over the plan's tensors. Conv and Gemm are in
// onednn_layers; the rest (pooling, eltwise, binary, BatchNorm, Concat, Softmax, ReduceMean,
// Pad, Reshape, Transpose, Quantize / DequantizeLinear) here.
#pragma once

#include "evaluator/onednn_plan.hpp"

namespace autocompress::onednn {

// Appends the steps of op; UnsupportedError (naming the node) for what oneDNN cannot run.
void build_op(PlanBuilder& pb, const FusedOp& op);

}  // namespace autocompress::onednn
