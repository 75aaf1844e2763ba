// Fusion analysis for the oneDNN evaluator: groups the canonical graph into the operations that
// become one primitive each (BN folding, activation / sum / binary post-ops, Swish, bypassed
// Flatten, int8 layers of QDQ graphs), shared with hwmodels/layer_desc. Pure function over the
// Graph: no oneDNN types, testable on its own. The rules: docs/evaluator.md, "Fusion".
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

// Parameters of a QuantizeLinear / DequantizeLinear node.
struct QuantParams {
  std::vector<float> scale;         // one value (per tensor) or one per index along `axis`
  std::vector<int64_t> zero_point;  // as many as scale (zeros when absent)
  int64_t axis = 1;
  DType dtype = DType::kUInt8;  // the integer side's type
  bool per_tensor() const { return scale.size() == 1; }
  bool symmetric() const;  // every zero point is 0
};
// The parameters of a Q/DQ node whose scale and zero point are initializers, else nullopt.
std::optional<QuantParams> quant_params(const Graph& g, const Node& n);

// A per-tensor quantized activation: the uint8/int8 tensor `name`, real value = scale * (q - zp).
struct QuantTensor {
  std::string name;
  float scale = 1;
  int64_t zero_point = 0;
  DType dtype = DType::kUInt8;
  bool same_grid(const QuantTensor& o) const {
    return scale == o.scale && zero_point == o.zero_point && dtype == o.dtype;
  }
};

struct PostOp {
  bool is_sum = false;
  Activation act;        // when !is_sum
  std::string residual;  // when is_sum: the tensor added to the result (r_q when quantized)
  std::optional<QuantTensor> qresidual;  // when the residual is read as integers
};

struct FusedOp {
  const Node* node = nullptr;         // the main node
  std::vector<const Node*> absorbed;  // BN, activations, Add, Mul folded into it
  std::string input;                  // main data input (after Flatten bypass)
  std::string output;                 // the tensor this op finally produces
  std::vector<PostOp> post;
  std::optional<Activation> act;  // for a standalone activation op
  // Conv/Gemm: weights and bias with BN folded (bias always present, zeros if none).
  Shape weight_shape;  // Conv [M,C/g,kh,kw]; Gemm [M,K] or [M,C,H,W]
  std::vector<float> weights, bias;
  // Quantized execution (all empty for float ops):
  std::vector<QuantTensor> qin;      // integer tensors read instead of the float data inputs
  std::optional<QuantTensor> qout;   // `output` is this integer tensor (a QuantizeLinear fused)
  std::vector<float> weight_scales;  // int8 Conv/Gemm: `weights` hold integers, real weight of
                                     // output channel o = weights * weight_scales[o]
  std::vector<std::string> reads;    // activation tensors the op reads when it runs
  bool int8() const { return !weight_scales.empty(); }
};

// The activation a node computes, if it is a pure element-wise activation.
std::optional<Activation> activation_of(const Node& n);

std::vector<FusedOp> fuse(const Graph& g);

// The integer values of DequantizeLinear's constant input dequantized: (q - zp) * scale per axis.
std::vector<float> dequantize(const TensorData& q, const QuantParams& p);

}  // namespace autocompress
