// Conv and Gemm lowered to oneDNN primitives: data types from the layer's precision (fp32, bf16,
// int8 with per-channel output scales), BatchNorm, activations and residual sums fused as
// post-ops (the sum in place on the residual's buffer where possible), weights reordered once
// into the layout the primitive chose.
#pragma once

#include "evaluator/onednn_plan.hpp"

namespace autocompress::onednn {

// Appends activation `a` for inputs in units of `unit` (value = unit * real; only Clip's bounds
// depend on it) and multiplies its result by `scale`.
void append_activation(dnnl::post_ops& po, const Activation& a, float scale = 1.f,
                       float unit = 1.f);

// The post-ops of op (its activations and residual sum); for an int8 layer also its output
// scales.
primitive_attr attr_of(const PlanBuilder& pb, const FusedOp& op);

void conv(PlanBuilder& pb, const FusedOp& op);
void gemm(PlanBuilder& pb, const FusedOp& op);

}  // namespace autocompress::onednn
