// int8 execution in the oneDNN evaluator against the float simulation of the same quantization:
// the reference executor runs the QDQ graph literally (graph.hpp), oneDNN runs it on integers
// (u8/s8 activations, s8 weights, s32 accumulation, per-channel output scales, fused post-ops).
// Rule, per output (a DequantizeLinear on grid s): |onednn - reference| <= s (one quantization
// step: the two differ only in float rounding before a round-to-nearest), and at least 99% of
// the elements equal.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "compressors/calibrate.hpp"
#include "compressors/quantize_pass.hpp"
#include "data/dataset.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/fusion.hpp"
#include "evaluator/onednn_executor.hpp"
#include "evaluator/reference.hpp"
#include "graph_builder.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

using testing::GraphBuilder;
using testing::quantized_graph;
using testing::random_input;
using Outputs = std::vector<std::string>;

// The grid step of graph output t: the scale of the DequantizeLinear producing it.
float step_of(const Graph& g, const std::string& t) {
  const Node* dq = g.producer(t);
  if (!dq || dq->op != "DequantizeLinear") return 0.f;
  return g.initializer(dq->inputs[1]).f[0];
}

// oneDNN vs the reference on one random batch. `min_exact`: the fraction of equal elements
// required.
void expect_within_one_step(const Graph& g, int64_t batch = 3, double min_exact = 0.99,
                            bool all_int8 = true) {
  for (const auto& op : fuse(g))
    if (all_int8 && (op.node->op == "Conv" || op.node->op == "Gemm")) {
      EXPECT_TRUE(op.int8()) << op.node->name << " does not run in int8";
    }
  const auto in = random_input(g, batch);
  const auto want = make_reference_executor(g)->run({in});
  const auto got = compile(g, {batch, 1})->run({in});
  ASSERT_EQ(want.size(), got.size());
  for (size_t k = 0; k < want.size(); ++k) {
    ASSERT_EQ(want[k].shape, got[k].shape);
    const double step = step_of(g, g.outputs[k]);
    ASSERT_GT(step, 0) << "test outputs are DequantizeLinear outputs";
    double worst = 0, exact = 0;
    for (size_t i = 0; i < want[k].data.size(); ++i) {
      const double d = std::abs(double(want[k].data[i]) - got[k].data[i]);
      worst = std::max(worst, d);
      exact += d <= 1e-6 * step;
    }
    EXPECT_LE(worst, step * (1 + 1e-4)) << "output " << g.outputs[k] << ", step " << step;
    EXPECT_GE(exact / double(want[k].data.size()), min_exact) << "output " << g.outputs[k];
  }
}

TEST(Int8VsReference, ConvRelu) {
  expect_within_one_step(quantized_graph({1, 4, 9, 9}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    return Outputs{b.qdq(b.unary("Relu", b.conv(b.qdq("x"), 16, 3, 1, {1, 1, 1, 1})))};
  }));
}

TEST(Int8VsReference, StemWithFewInputChannelsRunsInFloat) {
  Graph g = quantized_graph({1, 3, 10, 10}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto h = b.qdq(b.unary("Relu", b.conv(b.qdq("x"), 16, 3, 1, {1, 1, 1, 1})));
    return Outputs{b.qdq(b.unary("Relu", b.conv(h, 16, 3)))};
  });
  std::vector<bool> int8;
  for (const auto& op : fuse(g))
    if (op.node->op == "Conv") int8.push_back(op.int8());
  EXPECT_EQ(int8, (std::vector<bool>{false, true}));
  expect_within_one_step(g, 3, 0.99, false);
}

TEST(Int8VsReference, ConvBatchNormRelu6AndS8InputFromU8) {
  expect_within_one_step(quantized_graph({1, 8, 8, 8}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto h = b.qdq(b.unary("Relu", b.conv(b.qdq("x"), 16, 1)));
    auto y = b.unary("Clip", b.batchnorm(b.conv(h, 24, 3, 2, {1, 1, 1, 1}, 1, 1, false)),
                     {{"min", 0.f}, {"max", 1.5f}});
    return Outputs{b.qdq(y)};
  }));
}

TEST(Int8VsReference, S8OutputWithoutActivation) {
  expect_within_one_step(quantized_graph({1, 16, 7, 7}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    return Outputs{b.qdq(b.batchnorm(b.conv(b.qdq("x"), 16, 3, 1, {1, 1, 1, 1})))};
  }));
}

TEST(Int8VsReference, DepthwiseAndPointwise) {
  expect_within_one_step(quantized_graph({1, 32, 8, 8}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto dw = b.qdq(b.unary("Relu", b.conv(b.qdq("x"), 32, 3, 1, {1, 1, 1, 1}, 1, 32)));
    return Outputs{b.qdq(b.unary("Relu", b.batchnorm(b.conv(dw, 32, 1))))};
  }));
}

TEST(Int8VsReference, HardSwishNeedsRealUnits) {
  expect_within_one_step(quantized_graph({1, 8, 6, 6}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto h = b.unary("HardSwish", b.conv(b.qdq("x"), 16, 3, 1, {1, 1, 1, 1}));
    return Outputs{b.qdq(b.unary("Relu", h))};
  }));
}

TEST(Int8VsReference, ResidualBlockSumsIntegersInPlace) {
  expect_within_one_step(quantized_graph({1, 16, 8, 8}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto r = b.qdq(b.unary("Relu", b.conv(b.qdq("x"), 16, 3, 1, {1, 1, 1, 1})));
    auto h = b.qdq(b.unary("Relu", b.batchnorm(b.conv(r, 16, 3, 1, {1, 1, 1, 1}, 1, 1, false))));
    auto y = b.batchnorm(b.conv(h, 16, 3, 1, {1, 1, 1, 1}, 1, 1, false));
    return Outputs{b.qdq(b.unary("Relu", b.binary("Add", y, r)))};
  }));
}

TEST(Int8VsReference, S8ResidualStillReadLaterIsCopiedIntoU8Output) {
  expect_within_one_step(quantized_graph({1, 16, 6, 6}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto r = b.qdq(b.conv(b.qdq("x"), 16, 1));  // s8: no activation
    auto y = b.qdq(b.unary("Relu", b.binary("Add", b.conv(r, 16, 3, 1, {1, 1, 1, 1}), r)));
    auto z = b.qdq(b.conv(r, 8, 1));  // r is read after the fused add
    return Outputs{y, z};
  }));
}

TEST(Int8VsReference, FloatResidualIsAddedBeforeTheRounding) {
  Graph g = quantized_graph({1, 8, 6, 6}, [](GraphBuilder& b) {
    auto f = b.conv("x", 8, 1);  // float
    b.quantize_weights(true);
    return Outputs{b.qdq(b.binary("Add", b.conv(b.qdq(f), 8, 3, 1, {1, 1, 1, 1}), f))};
  });
  g.nodes[0].attrs.erase("precision");
  for (const auto& op : fuse(g)) {
    if (op.node->name == g.nodes[0].name) {
      EXPECT_FALSE(op.int8());
    }
  }
  const auto in = random_input(g, 2);
  const auto want = make_reference_executor(g)->run({in})[0].data;
  const auto got = compile(g, {2, 1})->run({in})[0].data;
  const double step = step_of(g, g.outputs[0]);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_LE(std::abs(want[i] - got[i]), step * 1.0001);
}

TEST(Int8VsReference, PoolingOnTheInputGrid) {
  auto pooled = [](const std::string& op) {
    return quantized_graph({1, 8, 9, 9}, [op](GraphBuilder& b) {
      b.quantize_weights(true);
      auto c = b.qdq(b.unary("Relu", b.conv(b.qdq("x"), 16, 3, 1, {1, 1, 1, 1})));
      if (op == "GlobalAveragePool") return Outputs{b.qdq_as(b.global_pool(c), c)};
      return Outputs{b.qdq_as(b.pool(op, c, 3, 2, {1, 1, 1, 1}, true), c)};
    });
  };
  expect_within_one_step(pooled("MaxPool"));
  // An average of integers often lies exactly half-way between two of them: the integer kernel
  // rounds that tie to even, the float simulation whichever way its rounding error points.
  expect_within_one_step(pooled("AveragePool"), 3, 0.9);
  expect_within_one_step(pooled("GlobalAveragePool"), 3, 0.9);
}

TEST(Int8VsReference, FlattenGemmHeadReadsIntegers) {
  Graph g = quantized_graph({1, 6, 12, 12}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto c = b.qdq(b.unary("Relu", b.conv(b.qdq("x"), 20, 3, 1, {1, 1, 1, 1})));
    auto p = b.qdq_as(b.pool("MaxPool", c, 2, 2), c);
    auto f = b.qdq_as(b.flatten(p), p);
    auto h = b.qdq(b.unary("Relu", b.gemm(f, 32)));
    return Outputs{b.qdq(b.gemm(h, 10))};
  });
  EXPECT_EQ(fuse(g).size(), 6u);  // Q(x), conv, pool, gemm, gemm, DQ: no Flatten left
  expect_within_one_step(g, 5);
}

TEST(Int8VsReference, GemmOnS8Input) {
  expect_within_one_step(quantized_graph({1, 24, 1, 1},
                                         [](GraphBuilder& b) {
                                           b.quantize_weights(true);
                                           auto f = b.qdq(b.flatten("x"));  // s8
                                           auto h =
                                               b.qdq(b.gemm(f, 32));  // s8 again: no activation
                                           return Outputs{b.qdq(b.unary("Relu", b.gemm(h, 10)))};
                                         }),
                         8);
}

TEST(Int8VsReference, ConcatOnOneGrid) {
  expect_within_one_step(quantized_graph({1, 8, 6, 6}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto x = b.qdq("x");
    auto a = b.qdq(b.unary("Relu", b.conv(x, 16, 1)));
    auto c = b.qdq_as(b.unary("Relu", b.conv(x, 16, 3, 1, {1, 1, 1, 1})), a);
    auto cat = b.qdq_as(b.node("Concat", {a, c}, {kBatch, 32, 6, 6}, {{"axis", int64_t(1)}}), a);
    return Outputs{b.qdq(b.unary("Relu", b.conv(cat, 8, 1)))};
  }));
}

TEST(Int8VsReference, Bf16LayersBetweenInt8Layers) {
  // Mode boundaries: bf16 output -> QuantizeLinear reorder; DequantizeLinear -> bf16 input.
  Graph g = quantized_graph({1, 8, 6, 6}, [](GraphBuilder& b) {
    b.quantize_weights(true);
    auto a = b.qdq(b.unary("Relu", b.conv(b.qdq("x"), 16, 3, 1, {1, 1, 1, 1})));
    b.quantize_weights(false);
    auto f = b.qdq(b.unary("Relu", b.conv(a, 16, 1)));
    b.quantize_weights(true);
    return Outputs{b.qdq(b.conv(f, 8, 1))};
  });
  for (auto& n : g.nodes)
    if (n.op == "Conv" && !n.has("precision")) n.attrs["precision"] = std::string("bf16");
  expect_within_one_step(g, 3, 0.9, false);
}

TEST(Int8VsReference, StandaloneQuantizeDequantizeWithZeroPointsAndAxes) {
  GraphBuilder b({1, 3, 4, 5});
  auto q = b.quantize("x", 0.02f, DType::kUInt8, 128);
  auto d = b.dequantize(q);
  auto s = b.constant(TensorData{DType::kFloat, {3}, {0.01f, 0.02f, 0.05f}, {}});
  auto z = b.constant(TensorData{DType::kInt8, {3}, {}, {0, -5, 7}});
  auto qa = b.node("QuantizeLinear", {"x", s, z}, {kBatch, 3, 4, 5}, {{"axis", int64_t(1)}});
  b.graph().values[qa].dtype = DType::kInt8;
  auto da = b.node("DequantizeLinear", {qa, s, z}, {kBatch, 3, 4, 5}, {{"axis", int64_t(1)}});
  Graph g = b.finish({q, d, da});
  const auto in = random_input(g, 2);
  const auto want = make_reference_executor(g)->run({in});
  const auto got = compile(g, {2, 1})->run({in});
  for (size_t k = 0; k < want.size(); ++k)
    for (size_t i = 0; i < want[k].data.size(); ++i)
      ASSERT_NEAR(want[k].data[i], got[k].data[i], 1e-5) << "output " << k << " element " << i;
}

TEST(Int8VsReference, WeightOnlyQuantizedFloatLayer) {
  GraphBuilder b({1, 4, 6, 6});
  b.quantize_weights(true);
  auto y = b.gemm(b.flatten(b.unary("Relu", b.conv("x", 8, 3))), 5);
  Graph g = b.finish({y});
  for (auto& n : g.nodes) n.attrs.erase("precision");  // fp32 compute, int8 weights
  const auto in = random_input(g, 2);
  const auto want = make_reference_executor(g)->run({in})[0].data;
  const auto got = compile(g, {2, 1})->run({in})[0].data;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(want[i], got[i], 1e-4 * std::max(1.f, std::abs(want[i])));
}

// The example model with every layer int8 (the quantize pass, calibrated on 128 train images):
// oneDNN's integer execution and the reference's float simulation agree on the top-1 class of
// >= 99.5% of 200 validation images (the end-to-end rule, on a slice to stay fast).
TEST(Int8ExampleModel, TopOneAgreesWithTheFloatSimulation) {
  const Graph m = load_onnx(AC_SOURCE_DIR "/examples/fashion_cnn.onnx");
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  const Dataset calib = load_mnist_dir(dir, Split::kTrain, model_normalization(m), 128);
  const Dataset val = load_mnist_dir(dir, Split::kVal, model_normalization(m), 200);
  std::map<std::string, QuantSetting> settings;
  for (const auto& l : weighted_layers(m)) settings[l.name] = {Precision::kInt8, 8};
  const QuantizeOptions o;
  const Graph q = quantize(
      m, settings, collect_activation_stats(m, calib, quantize_needs(m, settings, o), {}), o);
  int64_t int8_layers = 0;
  for (const auto& op : fuse(q)) int8_layers += op.int8();
  EXPECT_EQ(int8_layers, 8);  // all but the 1-channel stem
  const HostTensor in{{val.size(), 1, 28, 28}, val.images};
  const auto want = make_reference_executor(q)->run({in})[0].data;
  const auto got = compile(q, {val.size(), 2})->run({in})[0].data;
  int64_t agree = 0;
  for (int64_t i = 0; i < val.size(); ++i) {
    auto top = [&](const std::vector<float>& v) {
      return std::max_element(v.begin() + i * 10, v.begin() + i * 10 + 10) - v.begin();
    };
    agree += top(want) == top(got);
  }
  EXPECT_GE(double(agree) / double(val.size()), 0.995) << agree << " of " << val.size();
}

}  // namespace
}  // namespace autocompress
