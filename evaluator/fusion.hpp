// Fusion analysis for the oneDNN evaluator: groups the canonical graph into the operations that
// become one primitive each. Pure function over the Graph: no oneDNN types, testable on its own.
//
// Rules (in schedule order):
//  - Conv/Gemm absorb a following BatchNormalization (folded into weights and bias in double),
//    then a chain of activations (eltwise post-ops) and at most one residual Add whose other
//    operand is computed before the Conv/Gemm (sum post-op), then more activations.
//  - Sigmoid(x) * x becomes one Swish (SiLU) activation, fusable like any other.
//  - Add/Sub/Mul/Div absorb following activations (binary post-ops).
//  - A Flatten(axis=1) of a 4-D tensor read only by Gemms disappears: the Gemms read the 4-D
//    tensor directly with their weights viewed as [M, C, H, W] (inner product on 4-D input).
// Only a tensor with a single consumer that is not a graph output is fused through.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

struct Activation {
  enum Kind { kRelu, kLeakyRelu, kClip, kSigmoid, kHardSigmoid, kHardSwish, kSwish } kind = kRelu;
  float alpha = 0, beta = 0;  // LeakyRelu: alpha; Clip: [alpha, beta]; HardSigmoid: alpha*x+beta
};

struct PostOp {
  bool is_sum = false;
  Activation act;        // when !is_sum
  std::string residual;  // when is_sum: the tensor added to the result
};

struct FusedOp {
  const Node* node = nullptr;            // the main node
  std::vector<const Node*> absorbed;     // BN, activations, Add, Mul folded into it
  std::string input;                     // main data input (after Flatten bypass)
  std::string output;                    // the tensor this op finally produces
  std::vector<PostOp> post;
  std::optional<Activation> act;         // for a standalone activation op
  // Conv/Gemm: weights and bias with BN folded (bias always present, zeros if none).
  Shape weight_shape;                    // Conv [M,C/g,kh,kw]; Gemm [M,K] or [M,C,H,W]
  std::vector<float> weights, bias;
};

// The activation a node computes, if it is a pure element-wise activation.
std::optional<Activation> activation_of(const Node& n);

std::vector<FusedOp> fuse(const Graph& g);

}  // namespace autocompress
