// Fusion analysis on hand-built graphs: what is absorbed where, and BN folding numerics.
#include "evaluator/fusion.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "graph_builder.hpp"

namespace autocompress {
namespace {

using testing::GraphBuilder;

TEST(Fusion, ConvAbsorbsBatchNormActivationAndResidual) {
  GraphBuilder b({1, 8, 6, 6});
  auto x = b.conv("x", 8, 1);
  auto y = b.unary("Relu", b.binary("Add", b.unary("Relu", b.batchnorm(b.conv(x, 8, 1))), x));
  Graph g = b.finish({y});
  auto ops = fuse(g);
  ASSERT_EQ(ops.size(), 2u);
  const FusedOp& op = ops[1];
  EXPECT_EQ(op.absorbed.size(), 4u);  // BN, Relu, Add, Relu
  ASSERT_EQ(op.post.size(), 3u);
  EXPECT_FALSE(op.post[0].is_sum);
  EXPECT_TRUE(op.post[1].is_sum);
  EXPECT_EQ(op.post[1].residual, x);
  EXPECT_EQ(op.output, y);
}

TEST(Fusion, BatchNormFoldsIntoWeightsAndBias) {
  GraphBuilder b({1, 2, 3, 3});
  auto c = b.conv("x", 3, 1);
  auto y = b.batchnorm(c);
  Graph g = b.finish({y});
  const Node& conv = g.nodes[0];
  const Node& bn = g.nodes[1];
  auto ops = fuse(g);
  ASSERT_EQ(ops.size(), 1u);
  const auto& w = g.initializer(conv.inputs[1]).f;
  const auto& bias = g.initializer(conv.inputs[2]).f;
  for (int o = 0; o < 3; ++o) {
    double s = g.initializer(bn.inputs[1]).f[o] /
               std::sqrt(double(g.initializer(bn.inputs[4]).f[o]) + 1e-5);
    EXPECT_NEAR(ops[0].weights[o * 2 + 1], w[o * 2 + 1] * s, 1e-6);
    double want =
        (bias[o] - g.initializer(bn.inputs[3]).f[o]) * s + g.initializer(bn.inputs[2]).f[o];
    EXPECT_NEAR(ops[0].bias[o], want, 1e-6);
  }
}

TEST(Fusion, TensorWithTwoReadersIsNotFusedThrough) {
  GraphBuilder b({1, 4, 5, 5});
  auto c = b.conv("x", 4, 1);
  auto r = b.unary("Relu", c);
  auto s = b.unary("Sigmoid", c);
  const Graph graph = b.finish({r, s});
  auto ops = fuse(graph);
  EXPECT_EQ(ops.size(), 3u);
  EXPECT_TRUE(ops[0].post.empty());
}

TEST(Fusion, ResidualComputedAfterTheConvIsNotFusedIntoIt) {
  GraphBuilder b({1, 4, 5, 5});
  auto a = b.conv("x", 4, 1);
  auto later = b.conv("x", 4, 1);
  auto y = b.binary("Add", a, later);
  const Graph graph = b.finish({y});
  auto ops = fuse(graph);
  ASSERT_EQ(ops.size(), 2u);  // the Add fuses into the second conv instead
  EXPECT_TRUE(ops[0].post.empty());
  ASSERT_EQ(ops[1].post.size(), 1u);
  EXPECT_EQ(ops[1].post[0].residual, a);
}

TEST(Fusion, SigmoidTimesInputBecomesSwish) {
  GraphBuilder b({1, 4, 5, 5});
  auto s = b.binary("Mul", b.unary("Sigmoid", "x"), "x");
  const Graph graph = b.finish({s});
  auto ops = fuse(graph);
  ASSERT_EQ(ops.size(), 1u);
  ASSERT_TRUE(ops[0].act.has_value());
  EXPECT_EQ(ops[0].act->kind, Activation::kSwish);
  EXPECT_EQ(ops[0].output, s);
}

TEST(Fusion, GraphOutputIsNeverFusedAway) {
  GraphBuilder b({1, 4, 5, 5});
  auto c = b.conv("x", 4, 1);
  auto r = b.unary("Relu", c);
  const Graph graph = b.finish({c, r});
  auto ops = fuse(graph);
  EXPECT_EQ(ops.size(), 2u);
}

// ---- quantized (QDQ) graphs, graph.hpp "Quantization conventions" ----

const Node& node_of(const Graph& g, const std::string& output) { return *g.producer(output); }

TEST(FusionInt8, ConvReadsIntegersFoldsBatchNormIntoScalesAndAbsorbsQuantize) {
  GraphBuilder b({1, 4, 6, 6});
  auto x = b.qdq("x", 0.05f, DType::kInt8);
  b.quantize_weights(true);
  auto c = b.conv(x, 8, 3, 1, {1, 1, 1, 1});
  auto y = b.quantize(b.unary("Relu", b.batchnorm(c)), 0.1f, DType::kUInt8);
  Graph g = b.finish({b.dequantize(y)});
  auto ops = fuse(g);
  ASSERT_EQ(ops.size(), 3u);  // Q(x), the int8 conv, DQ(y); DQ(x) and DQ(w) are not needed
  EXPECT_EQ(ops[0].node->op, "QuantizeLinear");
  const FusedOp& op = ops[1];
  ASSERT_TRUE(op.int8());
  ASSERT_EQ(op.qin.size(), 1u);
  EXPECT_EQ(op.qin[0].name, node_of(g, x).inputs[0]);
  EXPECT_FLOAT_EQ(op.qin[0].scale, 0.05f);
  EXPECT_EQ(op.qin[0].dtype, DType::kInt8);
  ASSERT_TRUE(op.qout.has_value());
  EXPECT_EQ(op.output, y);
  EXPECT_EQ(op.qout->dtype, DType::kUInt8);
  EXPECT_EQ(op.reads, std::vector<std::string>{op.qin[0].name});
  // Integer weights unchanged; BN's factor lands in the per-channel scale.
  const Node& conv = node_of(g, c);
  const Node& wdq = node_of(g, conv.inputs[1]);
  const auto& wq = g.initializer(wdq.inputs[0]).i;
  const auto& ws = g.initializer(wdq.inputs[1]).f;
  const Node& bn = node_of(g, node_of(g, node_of(g, y).inputs[0]).inputs[0]);
  for (int o = 0; o < 8; ++o) {
    EXPECT_EQ(op.weights[o * 36 + 5], float(wq[o * 36 + 5]));
    const double s = g.initializer(bn.inputs[1]).f[o] /
                     std::sqrt(double(g.initializer(bn.inputs[4]).f[o]) + 1e-5);
    EXPECT_NEAR(op.weight_scales[o], ws[o] * s, 1e-6 * std::abs(ws[o] * s));
  }
  EXPECT_EQ(ops[2].node->op, "DequantizeLinear");
}

TEST(FusionInt8, ResidualIsReadAsIntegers) {
  GraphBuilder b({1, 8, 5, 5});
  b.quantize_weights(true);
  auto r =
      b.qdq(b.unary("Relu", b.conv(b.qdq("x", 0.05f, DType::kInt8), 8, 1)), 0.1f, DType::kUInt8);
  auto h = b.qdq(b.unary("Relu", b.conv(r, 8, 3, 1, {1, 1, 1, 1})), 0.1f, DType::kUInt8);
  auto y = b.quantize(b.unary("Relu", b.binary("Add", b.conv(h, 8, 1), r)), 0.2f, DType::kUInt8);
  const Graph graph = b.finish({b.dequantize(y)});
  auto ops = fuse(graph);
  ASSERT_EQ(ops.size(), 5u);  // Q(x), three int8 convs, DQ(y)
  const FusedOp& last = ops[3];
  ASSERT_EQ(last.post.size(), 2u);  // Add, Relu; the Q sets the output scale
  ASSERT_TRUE(last.post[0].is_sum);
  ASSERT_TRUE(last.post[0].qresidual.has_value());
  EXPECT_FLOAT_EQ(last.post[0].qresidual->scale, 0.1f);
  EXPECT_EQ(last.post[0].residual, ops[1].output);
  EXPECT_TRUE(last.qout.has_value());
}

TEST(FusionInt8, FloatResidualKeepsQuantizeSeparate) {
  GraphBuilder b({1, 8, 5, 5});
  auto f = b.conv("x", 8, 1);  // a float layer
  b.quantize_weights(true);
  auto y = b.quantize(b.binary("Add", b.conv(b.qdq(f, 0.1f, DType::kInt8), 8, 1), f), 0.2f,
                      DType::kInt8);
  const Graph graph = b.finish({b.dequantize(y)});
  auto ops = fuse(graph);
  ASSERT_EQ(ops.size(), 5u);  // float conv, Q, int8 conv + sum, Q, DQ
  EXPECT_TRUE(ops[2].int8());
  EXPECT_FALSE(ops[2].qout.has_value());
  EXPECT_FALSE(ops[2].post[0].qresidual.has_value());
  EXPECT_EQ(ops[3].node->op, "QuantizeLinear");
}

TEST(FusionInt8, PoolingAndFlattenStayInIntegersAndGemmReadsTheFourDTensor) {
  GraphBuilder b({1, 4, 6, 6});
  b.quantize_weights(true);
  auto c =
      b.qdq(b.unary("Relu", b.conv(b.qdq("x", 0.05f, DType::kInt8), 8, 3)), 0.1f, DType::kUInt8);
  auto p = b.qdq(b.pool("MaxPool", c, 2, 2), 0.1f, DType::kUInt8);
  auto f = b.qdq(b.flatten(p), 0.1f, DType::kUInt8);
  auto y = b.gemm(f, 10);
  Graph g = b.finish({y});
  auto ops = fuse(g);
  ASSERT_EQ(ops.size(), 4u);  // Q(x), conv, pool, gemm: the Flatten and its Q/DQ vanish
  EXPECT_EQ(ops[2].node->op, "MaxPool");
  ASSERT_EQ(ops[2].qin.size(), 1u);
  ASSERT_TRUE(ops[2].qout.has_value());
  const FusedOp& gemm = ops[3];
  ASSERT_TRUE(gemm.int8());
  EXPECT_EQ(gemm.qin[0].name, ops[2].output);
  EXPECT_EQ(gemm.weight_shape, (Shape{10, 8, 2, 2}));
  EXPECT_FALSE(gemm.qout.has_value());  // a float graph output
}

TEST(FusionInt8, PoolingOnAnotherGridIsNotInteger) {
  GraphBuilder b({1, 4, 6, 6});
  auto p = b.qdq(b.pool("AveragePool", b.qdq("x", 0.1f, DType::kInt8), 2, 2), 0.05f, DType::kInt8);
  const Graph graph = b.finish({p});
  auto ops = fuse(graph);
  ASSERT_EQ(ops.size(), 5u);  // Q, DQ, pool in float, Q, DQ
  EXPECT_TRUE(ops[2].qin.empty());
}

TEST(FusionInt8, WeightOnlyQuantizationDequantizesAtCompileTime) {
  GraphBuilder b({1, 3, 5, 5});
  b.quantize_weights(true);
  auto c = b.conv("x", 4, 3);
  Graph g = b.finish({c});
  g.nodes.back().attrs["precision"] = std::string("bf16");
  auto ops = fuse(g);
  ASSERT_EQ(ops.size(), 1u);  // the weights' DequantizeLinear is folded away
  EXPECT_FALSE(ops[0].int8());
  const Node& wdq = node_of(g, g.nodes.back().inputs[1]);
  const auto& wq = g.initializer(wdq.inputs[0]).i;
  const auto& ws = g.initializer(wdq.inputs[1]).f;
  for (int k = 0; k < 27; ++k) EXPECT_FLOAT_EQ(ops[0].weights[27 * 2 + k], wq[27 * 2 + k] * ws[2]);
}

TEST(FusionInt8, QuantParamsAndDequantizePerAxis) {
  GraphBuilder b({1, 2, 1, 2});
  TensorData q{DType::kUInt8, {1, 2, 1, 2}, {}, {10, 20, 30, 40}};
  auto qn = b.constant(q);
  auto sn = b.constant(TensorData{DType::kFloat, {2}, {0.5f, 2.f}, {}});
  auto zn = b.constant(TensorData{DType::kUInt8, {2}, {}, {10, 20}});
  auto d = b.node("DequantizeLinear", {qn, sn, zn}, {1, 2, 1, 2}, {{"axis", int64_t(1)}});
  Graph g = b.finish({d});
  auto p = quant_params(g, g.nodes[0]);
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->per_tensor());
  EXPECT_FALSE(p->symmetric());
  EXPECT_EQ(p->dtype, DType::kUInt8);
  EXPECT_EQ(dequantize(q, *p), (std::vector<float>{0.f, 5.f, 20.f, 40.f}));
}

}  // namespace
}  // namespace autocompress
