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
    double want = (bias[o] - g.initializer(bn.inputs[3]).f[o]) * s + g.initializer(bn.inputs[2]).f[o];
    EXPECT_NEAR(ops[0].bias[o], want, 1e-6);
  }
}

TEST(Fusion, TensorWithTwoReadersIsNotFusedThrough) {
  GraphBuilder b({1, 4, 5, 5});
  auto c = b.conv("x", 4, 1);
  auto r = b.unary("Relu", c);
  auto s = b.unary("Sigmoid", c);
  auto ops = fuse(b.finish({r, s}));
  EXPECT_EQ(ops.size(), 3u);
  EXPECT_TRUE(ops[0].post.empty());
}

TEST(Fusion, ResidualComputedAfterTheConvIsNotFusedIntoIt) {
  GraphBuilder b({1, 4, 5, 5});
  auto a = b.conv("x", 4, 1);
  auto later = b.conv("x", 4, 1);
  auto y = b.binary("Add", a, later);
  auto ops = fuse(b.finish({y}));
  ASSERT_EQ(ops.size(), 2u);  // the Add fuses into the second conv instead
  EXPECT_TRUE(ops[0].post.empty());
  ASSERT_EQ(ops[1].post.size(), 1u);
  EXPECT_EQ(ops[1].post[0].residual, a);
}

TEST(Fusion, SigmoidTimesInputBecomesSwish) {
  GraphBuilder b({1, 4, 5, 5});
  auto s = b.binary("Mul", b.unary("Sigmoid", "x"), "x");
  auto ops = fuse(b.finish({s}));
  ASSERT_EQ(ops.size(), 1u);
  ASSERT_TRUE(ops[0].act.has_value());
  EXPECT_EQ(ops[0].act->kind, Activation::kSwish);
  EXPECT_EQ(ops[0].output, s);
}

TEST(Fusion, GraphOutputIsNeverFusedAway) {
  GraphBuilder b({1, 4, 5, 5});
  auto c = b.conv("x", 4, 1);
  auto r = b.unary("Relu", c);
  auto ops = fuse(b.finish({c, r}));
  EXPECT_EQ(ops.size(), 2u);
}

}  // namespace
}  // namespace autocompress
