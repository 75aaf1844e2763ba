// The oneDNN evaluator against the naive reference executor, over tables of shapes and every
// fusion the evaluator performs. Tolerance: max |onednn - reference| <= 1e-4 * max(1, max |ref|)
// per output (float32 accumulation vs float64 over at most a few thousand products).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "common/error.hpp"
#include "evaluator/fusion.hpp"
#include "evaluator/onednn_executor.hpp"
#include "evaluator/reference.hpp"
#include "graph_builder.hpp"

namespace autocompress {
namespace {

using testing::GraphBuilder;
using testing::random_input;

void expect_match(const Graph& g, int64_t batch, int64_t compiled_batch = 0) {
  auto ref = make_reference_executor(g);
  auto dnn = compile(g, {compiled_batch ? compiled_batch : batch, 1});
  const auto in = random_input(g, batch);
  const auto want = ref->run({in});
  const auto got = dnn->run({in});
  ASSERT_EQ(want.size(), got.size());
  for (size_t k = 0; k < want.size(); ++k) {
    ASSERT_EQ(want[k].shape, got[k].shape) << "output " << k;
    double scale = 1, err = 0;
    for (float v : want[k].data) scale = std::max(scale, double(std::abs(v)));
    for (size_t i = 0; i < want[k].data.size(); ++i)
      err = std::max(err, double(std::abs(want[k].data[i] - got[k].data[i])));
    EXPECT_LE(err, 1e-4 * scale) << "output " << k << " of " << g.outputs[k];
  }
}

struct ConvCase {
  int64_t c, m, h, k, stride, dil, group;
  std::vector<int64_t> pads;
  bool bias, bn, relu;
};

class ConvVsReference : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvVsReference, Matches) {
  const ConvCase& p = GetParam();
  GraphBuilder b({1, p.c, p.h, p.h + 1});
  std::string y = b.conv("x", p.m, p.k, p.stride, p.pads, p.dil, p.group, p.bias);
  if (p.bn) y = b.batchnorm(y);
  if (p.relu) y = b.unary("Relu", y);
  expect_match(b.finish({y}), 3);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvVsReference,
    ::testing::Values(ConvCase{1, 8, 9, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, false},
                      ConvCase{3, 16, 8, 3, 2, 1, 1, {1, 1, 1, 1}, false, true, true},
                      ConvCase{16, 32, 7, 1, 1, 1, 1, {0, 0, 0, 0}, false, true, false},
                      ConvCase{17, 5, 10, 3, 1, 2, 1, {2, 2, 2, 2}, true, true, true},
                      ConvCase{32, 32, 8, 3, 1, 1, 32, {1, 1, 1, 1}, false, true, true},
                      ConvCase{16, 32, 8, 3, 2, 1, 16, {1, 0, 2, 1}, true, false, true},
                      ConvCase{8, 12, 6, 3, 1, 1, 4, {1, 1, 1, 1}, true, true, false},
                      ConvCase{4, 4, 11, 5, 3, 1, 1, {0, 2, 1, 0}, true, false, false}));

TEST(OneDnnVsReference, ResidualBlockAddIsFused) {
  // A ResNet basic block: the sum may run in place in the shortcut's buffer.
  GraphBuilder b({1, 16, 8, 8});
  auto x = b.unary("Relu", b.batchnorm(b.conv("x", 16, 3, 1, {1, 1, 1, 1}, 1, 1, false)));
  auto h = b.unary("Relu", b.batchnorm(b.conv(x, 16, 3, 1, {1, 1, 1, 1}, 1, 1, false)));
  auto y = b.batchnorm(b.conv(h, 16, 3, 1, {1, 1, 1, 1}, 1, 1, false));
  auto z = b.unary("Relu", b.binary("Add", y, x));
  Graph g = b.finish({z});
  auto ops = fuse(g);
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_TRUE(ops[2].post[0].is_sum);
  expect_match(g, 4);
}

TEST(OneDnnVsReference, ResidualAddOfTheConvsOwnInput) {
  // The conv reads the tensor it adds: its destination must not alias that tensor.
  GraphBuilder b({1, 16, 8, 8});
  auto x = b.unary("Relu", b.batchnorm(b.conv("x", 16, 3, 1, {1, 1, 1, 1}, 1, 1, false)));
  auto y = b.batchnorm(b.conv(x, 16, 3, 1, {1, 1, 1, 1}, 1, 1, false));
  auto z = b.unary("Relu", b.binary("Add", y, x));
  expect_match(b.finish({z}), 4);
}

TEST(OneDnnVsReference, ResidualStillReadLaterIsCopied) {
  GraphBuilder b({1, 16, 6, 6});
  auto x = b.unary("Relu", b.conv("x", 16, 1));
  auto y = b.conv(x, 16, 3, 1, {1, 1, 1, 1});
  auto z = b.binary("Add", y, x);
  auto w = b.binary("Mul", z, x);  // x is read after the fused add
  expect_match(b.finish({w}), 2);
}

TEST(OneDnnVsReference, ProjectionShortcutFusesIntoLaterConv) {
  GraphBuilder b({1, 8, 8, 8});
  auto a = b.batchnorm(b.conv("x", 16, 3, 2, {1, 1, 1, 1}, 1, 1, false));
  auto s = b.batchnorm(b.conv("x", 16, 1, 2, {0, 0, 0, 0}, 1, 1, false));
  auto z = b.unary("Relu", b.binary("Add", a, s));
  expect_match(b.finish({z}), 3);
}

TEST(OneDnnVsReference, FlattenGemmHeadReadsBlockedTensorDirectly) {
  GraphBuilder b({1, 3, 12, 12});
  auto x = b.pool("MaxPool", b.unary("Relu", b.conv("x", 20, 3, 1, {1, 1, 1, 1})), 2, 2);
  auto f = b.flatten(x);
  auto y = b.gemm(b.unary("Relu", b.gemm(f, 32)), 10);
  Graph g = b.finish({y});
  EXPECT_EQ(fuse(g).size(), 4u);  // conv+relu, pool, gemm+relu, gemm (flatten bypassed)
  expect_match(g, 5);
}

TEST(OneDnnVsReference, PoolingVariants) {
  GraphBuilder b({1, 5, 9, 9});
  auto a = b.pool("MaxPool", "x", 3, 2, {1, 1, 1, 1});
  auto c = b.pool("MaxPool", "x", 2, 2, {0, 0, 0, 0}, true);
  auto d = b.pool("AveragePool", "x", 3, 2, {1, 1, 1, 1}, false, true);
  auto e = b.pool("AveragePool", "x", 3, 2, {1, 1, 1, 1}, false, false);
  auto f = b.pool("AveragePool", "x", 2, 2, {0, 0, 0, 0}, true, false);
  auto gp = b.global_pool("x");
  expect_match(b.finish({a, c, d, e, f, gp}), 2);
}

TEST(OneDnnVsReference, ActivationsStandaloneAndFused) {
  GraphBuilder b({1, 6, 5, 5});
  auto c = b.conv("x", 8, 3, 1, {1, 1, 1, 1});
  auto l = b.unary("LeakyRelu", c, {{"alpha", 0.1f}});
  auto r6 = b.unary("Clip", b.conv("x", 8, 1), {{"min", 0.f}, {"max", 0.3f}});
  auto hs = b.unary("HardSwish", b.conv("x", 8, 1));
  auto hsig = b.unary("HardSigmoid", "x", {{"alpha", 0.3f}, {"beta", 0.4f}});
  auto sig = b.unary("Sigmoid", "x");
  auto cs = b.conv("x", 8, 1);  // conv -> SiLU
  auto silu = b.binary("Mul", cs, b.unary("Sigmoid", cs));
  expect_match(b.finish({l, r6, hs, hsig, sig, silu}), 2);
}

TEST(OneDnnVsReference, SqueezeExcitationChannelMul) {
  GraphBuilder b({1, 16, 6, 6});
  auto x = b.unary("Relu", b.conv("x", 16, 3, 1, {1, 1, 1, 1}));
  auto s = b.flatten(b.global_pool(x));
  auto e = b.unary("Sigmoid", b.gemm(b.unary("Relu", b.gemm(s, 4)), 16));
  auto e4 = b.node("Reshape", {e}, {kBatch, 16, 1, 1},
                   {{"shape", std::vector<int64_t>{kBatch, 16, 1, 1}}});
  auto y = b.binary("Mul", x, e4);
  expect_match(b.finish({y}), 3);
}

TEST(OneDnnVsReference, BroadcastConstantsAndSwappedSub) {
  GraphBuilder b({1, 4, 3, 3});
  auto c = b.weight({4, 1, 1});
  auto a = b.binary("Add", "x", c);
  auto m = b.binary("Mul", "x", b.weight({1}));
  auto d = b.binary("Div", "x", b.weight({4, 1, 1}, 0.5f, 2.f));
  auto s = b.binary("Sub", b.global_pool("x"), "x");  // broadcast first operand
  expect_match(b.finish({a, m, d, s}), 2);
}

TEST(OneDnnVsReference, ConcatSoftmaxReducePadTranspose) {
  GraphBuilder b({1, 3, 4, 5});
  auto c1 = b.conv("x", 5, 1);
  auto c2 = b.conv("x", 7, 1);
  auto cat = b.node("Concat", {c1, c2, "x"}, {kBatch, 15, 4, 5}, {{"axis", int64_t(1)}});
  auto sm = b.node("Softmax", {cat}, {kBatch, 15, 4, 5},
                   {{"axis", int64_t(1)}, {"coerce_2d", int64_t(0)}});
  auto sm2 = b.node("Softmax", {"x"}, {kBatch, 3, 4, 5},
                    {{"axis", int64_t(1)}, {"coerce_2d", int64_t(1)}});
  auto rm = b.node("ReduceMean", {cat}, {kBatch, 15},
                   {{"axes", std::vector<int64_t>{2, 3}}, {"keepdims", int64_t(0)}});
  auto pd = b.node("Pad", {"x"}, {kBatch, 3, 7, 6},
                   {{"pads", std::vector<int64_t>{0, 0, 1, 0, 0, 0, 2, 1}}, {"value", 0.5f}});
  auto tr =
      b.node("Transpose", {"x"}, {kBatch, 4, 5, 3}, {{"perm", std::vector<int64_t>{0, 2, 3, 1}}});
  expect_match(b.finish({sm, sm2, rm, pd, tr}), 2);
}

TEST(OneDnnVsReference, StandaloneBatchNormAndOtherBatchSizes) {
  GraphBuilder b({1, 24, 5, 5});
  auto x = b.unary("Relu", b.batchnorm("x"));  // BN on a graph input: its own primitive
  auto y = b.batchnorm(b.conv(x, 16, 3));
  Graph g = b.finish({y});
  expect_match(g, 7, 4);  // compiled for 4, run with 7: a second plan
  expect_match(g, 1, 4);
}

TEST(OneDnnExecutor, RejectsInputOfWrongShape) {
  GraphBuilder b({1, 3, 8, 8});
  Graph g = b.finish({b.conv("x", 4, 3)});
  auto dnn = compile(g, {2, 1});
  HostTensor bad{{2, 1, 8, 8}, std::vector<float>(128)};
  try {
    dnn->run({bad});
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("[2,1,8,8]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[N,3,8,8]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace autocompress

namespace autocompress {
namespace {

TEST(OneDnnProfile, EveryPrimitiveIsTimedUnderItsNode) {
  testing::GraphBuilder b({1, 3, 12, 12});
  auto c = b.unary("Relu", b.batchnorm(b.conv("x", 16, 3, 1, {1, 1, 1, 1})));
  auto p = b.pool("MaxPool", c, 2, 2);
  auto y = b.gemm(b.flatten(p), 10);
  Graph g = b.finish({y});
  auto ex = compile(g, {4, 1});
  const auto steps = profile_steps(*ex, {random_input(g, 4)}, 3);
  std::set<std::string> nodes;
  for (const auto& s : steps) {
    nodes.insert(s.node + ":" + s.kind);
    EXPECT_GT(s.seconds, 0.0) << s.node;
  }
  EXPECT_TRUE(nodes.count(g.nodes[0].name + ":Conv"));  // BN and Relu run inside it
  EXPECT_TRUE(nodes.count(g.nodes[3].name + ":MaxPool"));
  EXPECT_TRUE(nodes.count(g.nodes.back().name + ":Gemm"));
  EXPECT_TRUE(nodes.count("(outputs):reorder"));
  for (const auto& n : g.nodes) EXPECT_FALSE(nodes.count(n.name + ":Relu"));
  auto ref = make_reference_executor(g);
  EXPECT_THROW(profile_steps(*ref, {random_input(g, 4)}, 1), UsageError);
}

}  // namespace
}  // namespace autocompress

namespace autocompress {
namespace {

// bf16 layers: native AVX-512-BF16 kernels; inputs and weights rounded to 8 mantissa bits, so the
// tolerance is that of bf16 (relative 2^-8 per operand, accumulated in f32): 3e-2 of the scale.
TEST(OneDnnBf16, MixedPrecisionNetworkStaysCloseToFp32) {
  testing::GraphBuilder b({1, 8, 10, 10});
  auto x = b.unary("Relu", b.batchnorm(b.conv("x", 16, 3, 1, {1, 1, 1, 1}, 1, 1, false)));
  auto h = b.unary("Relu", b.conv(x, 16, 3, 1, {1, 1, 1, 1}));
  auto y = b.unary("Relu", b.binary("Add", b.conv(h, 16, 3, 1, {1, 1, 1, 1}), x));
  auto cat = b.node("Concat", {y, x}, {kBatch, 32, 10, 10}, {{"axis", int64_t(1)}});
  auto p = b.pool("MaxPool", cat, 2, 2);
  auto out = b.gemm(b.unary("Relu", b.gemm(b.flatten(p), 24)), 10);
  Graph g = b.finish({out});
  Graph g16 = g;
  for (auto& n : g16.nodes)
    if ((n.op == "Conv" || n.op == "Gemm") && n.name != g16.nodes[1].name)  // one stays fp32
      n.attrs["precision"] = std::string("bf16");
  const auto in = random_input(g, 4);
  const auto want = make_reference_executor(g)->run({in})[0].data;
  const auto got = compile(g16, {4, 1})->run({in})[0].data;
  double scale = 0, err = 0, exact = 0;
  const auto fp32 = compile(g, {4, 1})->run({in})[0].data;
  for (size_t k = 0; k < want.size(); ++k) {
    scale = std::max(scale, double(std::abs(want[k])));
    err = std::max(err, double(std::abs(got[k] - want[k])));
    exact = std::max(exact, double(std::abs(fp32[k] - want[k])));
  }
  EXPECT_LE(err, 3e-2 * scale);
  EXPECT_GT(err, 10 * exact) << "bf16 layers must really run in bf16";
}

TEST(OneDnnExecutor, Int8LayerWithoutQuantizedInputsRunsInFloat) {
  // precision "int8" without the QDQ pattern of graph.hpp has nothing to run in integers.
  testing::GraphBuilder b({1, 3, 6, 6});
  Graph g = b.finish({b.conv("x", 4, 3)});
  g.nodes[0].attrs["precision"] = std::string("int8");
  expect_match(g, 2);
  g.nodes[0].attrs["precision"] = std::string("int4");
  EXPECT_THROW(compile(g, {2, 1}), UnsupportedError);
}

}  // namespace
}  // namespace autocompress
