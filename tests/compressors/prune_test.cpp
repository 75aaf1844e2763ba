// Structured pruning: exactness on constructed models whose pruned channels are zero, shape
// consistency through every dependency group of the three real models, no-op and determinism.
#include "compressors/prune.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.hpp"
#include "evaluator/onednn_executor.hpp"
#include "evaluator/reference.hpp"
#include "model/onnx_io.hpp"
#include "tests/evaluator/graph_builder.hpp"

namespace autocompress {
namespace {

using testing::GraphBuilder;
using testing::random_input;
const std::string kSrc = AC_SOURCE_DIR;

std::vector<float> run(Executor& ex, const HostTensor& in) { return ex.run({in})[0].data; }

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k)
    d = std::max(d, double(std::abs(a[k] - b[k])));
  return d;
}

double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float v : a) m = std::max(m, double(std::abs(v)));
  return m;
}

// Same nodes, tensors and values, bit for bit.
void expect_same_graph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t k = 0; k < a.nodes.size(); ++k) {
    EXPECT_EQ(a.nodes[k].name, b.nodes[k].name);
    EXPECT_EQ(a.nodes[k].inputs, b.nodes[k].inputs);
    EXPECT_EQ(a.nodes[k].outputs, b.nodes[k].outputs);
    EXPECT_EQ(a.nodes[k].attrs, b.nodes[k].attrs) << a.nodes[k].name;
  }
  ASSERT_EQ(a.initializers.size(), b.initializers.size());
  for (const auto& [name, t] : a.initializers) {
    ASSERT_TRUE(b.initializers.count(name)) << name;
    EXPECT_EQ(t.shape, b.initializers.at(name).shape) << name;
    EXPECT_EQ(t.f, b.initializers.at(name).f) << name;
  }
  for (const auto& [name, v] : a.values) EXPECT_EQ(v.shape, b.value(name).shape) << name;
}

// Output channels of a Conv/Gemm layer.
int64_t out_channels(const Graph& g, const std::string& layer) {
  return g.initializer(g.find_node(layer)->inputs[1]).shape[0];
}

void zero_rows(Graph& g, const std::string& tensor, int64_t step) {
  TensorData& w = g.initializers.at(tensor);
  const int64_t inner = w.size() / w.shape[0];
  for (int64_t m = 0; m < w.shape[0]; m += step)
    std::fill(w.f.begin() + m * inner, w.f.begin() + (m + 1) * inner, 0.f);
}

TEST(Prune, KeptChannelCount) {
  EXPECT_EQ(kept_channel_count(32, 0.5, 16), 16);
  EXPECT_EQ(kept_channel_count(64, 0.25, 16), 48);
  EXPECT_EQ(kept_channel_count(32, 0.9, 16), 16);  // never below one multiple
  EXPECT_EQ(kept_channel_count(10, 0.9, 16), 10);  // nor above the layer
  EXPECT_EQ(kept_channel_count(100, 0.5, 1), 50);
  EXPECT_EQ(kept_channel_count(3, 0.9, 1), 1);  // never zero
  EXPECT_EQ(kept_channel_count(512, 0.9, 16), 48);
}

TEST(Prune, ImportanceSumsOverTheGroupsProducers) {
  GraphBuilder b({1, 2, 4, 4});
  const auto a = b.conv("x", 2, 1, 1, {0, 0, 0, 0}, 1, 1, false);
  const auto c = b.conv("x", 2, 1, 1, {0, 0, 0, 0}, 1, 1, false);
  Graph g = b.finish({b.conv(b.binary("Add", a, c), 3, 1)});
  g.initializers.at(g.nodes[0].inputs[1]).f = {3, -4, 1, 0};  // rows: (3,-4), (1,0)
  g.initializers.at(g.nodes[1].inputs[1]).f = {0, 1, -2, 2};  // rows: (0,1), (-2,2)
  const PruneGroup gr = dependency_groups(g)[0];
  ASSERT_EQ(gr.producers.size(), 2u);
  EXPECT_EQ(channel_importance(g, gr, Importance::kL1), (std::vector<double>{8, 5}));
  const auto l2 = channel_importance(g, gr, Importance::kL2);
  EXPECT_DOUBLE_EQ(l2[0], 5 + 1);
  EXPECT_DOUBLE_EQ(l2[1], 1 + std::sqrt(8.0));
  PruneOptions o;
  o.channel_multiple = 1;
  PruneReport r;
  prune(g, {{gr.id, 0.5}}, o, &r);
  EXPECT_EQ(r.kept.at(gr.id), (std::vector<int64_t>{0}));
  o.importance = Importance::kL2;
  prune(g, {{gr.id, 0.5}}, o, &r);
  EXPECT_EQ(r.kept.at(gr.id), (std::vector<int64_t>{0}));
}

// x -> A(3x3, pad 1) BN Relu = t1; B(1x1)(t1) BN = t2; Relu(t1 + t2) = t3 (group {A, B});
// C(1x1)(t3) Relu MaxPool Flatten -> Gemm. Every other output channel of A, B and C has zero
// weights and bias: those channels are constants (through BN, Relu, the residual Add) that the
// pruner must fold into the 1x1 and Gemm consumers' biases.
Graph zero_channel_model(std::string* a, std::string* c) {
  GraphBuilder b({1, 3, 8, 8});
  const auto t1 = b.unary("Relu", b.batchnorm(b.conv("x", 32, 3, 1, {1, 1, 1, 1})));
  const auto t2 = b.batchnorm(b.conv(t1, 32, 1));
  const auto t3 = b.unary("Relu", b.binary("Add", t1, t2));
  const auto t4 = b.pool("MaxPool", b.unary("Relu", b.conv(t3, 32, 1)), 2, 2);
  Graph g = b.finish({b.gemm(b.flatten(t4), 10)});
  int k = 0;
  for (const auto& n : g.nodes) {
    if (n.op != "Conv") continue;
    zero_rows(g, n.inputs[1], 2);
    zero_rows(g, n.inputs[2], 2);
    if (k == 0) *a = n.name;
    if (k++ == 2) *c = n.name;
  }
  return g;
}

TEST(Prune, ZeroChannelsFoldedOutputsUnchangedOnBothExecutors) {
  std::string a, c;
  const Graph g = zero_channel_model(&a, &c);
  const ChannelAnalysis an = analyze_channels(g);
  const int ga = an.group_of_producer(a), gc = an.group_of_producer(c);
  PruneReport report;
  const Graph p = prune(g, {{ga, 0.5}, {gc, 0.5}}, {}, &report);
  EXPECT_EQ(out_channels(p, a), 16);
  EXPECT_EQ(out_channels(p, c), 16);
  ASSERT_EQ(report.kept.at(ga).size(), 16u);
  for (int64_t k : report.kept.at(ga)) EXPECT_EQ(k % 2, 1);  // the zero channels went
  int folds = 0;
  for (const auto& note : report.notes) folds += note.find("folded") != std::string::npos;
  // B and C read group {A,B}, the Gemm reads C; a constant that the Relu made 0 needs no fold.
  EXPECT_GT(folds, 0);
  const HostTensor in = random_input(g, 4);
  auto ref = make_reference_executor(g), ref_p = make_reference_executor(p);
  const auto want = run(*ref, in);
  EXPECT_LE(max_abs_diff(run(*ref_p, in), want), 1e-5 * std::max(1.0, max_abs(want)));
  auto dnn = compile(p, {4, 1});
  EXPECT_LE(max_abs_diff(run(*dnn, in), want), 1e-4 * std::max(1.0, max_abs(want)));
}

TEST(Prune, WithoutFoldingTheConstantsAreLost) {
  std::string a, c;
  const Graph g = zero_channel_model(&a, &c);
  const int ga = analyze_channels(g).group_of_producer(a);
  PruneOptions o;
  o.fold_constants = false;
  const HostTensor in = random_input(g, 2);
  const auto want = run(*make_reference_executor(g), in);
  const auto got = run(*make_reference_executor(prune(g, {{ga, 0.5}}, o)), in);
  EXPECT_GT(max_abs_diff(got, want), 1e-3);
}

TEST(Prune, PaddedConsumerSkipsTheFoldWithAReason) {
  GraphBuilder b({1, 3, 6, 6});
  const auto t = b.unary("Relu", b.batchnorm(b.conv("x", 32, 3, 1, {1, 1, 1, 1})));
  Graph g = b.finish({b.conv(t, 8, 3, 1, {1, 1, 1, 1})});
  zero_rows(g, g.nodes[0].inputs[1], 2);
  PruneReport report;
  const Graph p = prune(g, {{0, 0.5}}, {}, &report);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_NE(report.notes[0].find("not folded: the conv is padded"), std::string::npos)
      << report.notes[0];
  EXPECT_EQ(p.value(p.outputs[0]).shape, g.value(g.outputs[0]).shape);
}

TEST(Prune, ResidualGroupKeepsTheAddConsistent) {
  const Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
  const Graph p = prune(g, {{0, 0.5}}, {});
  EXPECT_EQ(out_channels(p, "/stem/stem.0/Conv"), 16);
  EXPECT_EQ(out_channels(p, "/res/conv2/conv2.0/Conv"), 16);
  EXPECT_EQ(p.initializer(p.find_node("/res/conv1/conv1.0/Conv")->inputs[1]).shape[1], 16);
  EXPECT_EQ(p.initializer(p.find_node("/expand/expand.0/Conv")->inputs[1]).shape[1], 16);
  const Node* add = p.find_node("/res/Add");
  ASSERT_TRUE(add);
  EXPECT_EQ(p.value(add->inputs[0]).shape, p.value(add->inputs[1]).shape);
  EXPECT_EQ(p.value(add->outputs[0]).shape[1], 16);
  const HostTensor in = random_input(g, 3);
  const auto y = compile(p, {3, 1})->run({in})[0];
  EXPECT_EQ(y.shape, (Shape{3, 10}));
}

TEST(Prune, DepthwiseFollowsAndGemmLosesFeatureBlocks) {
  const Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
  const ChannelAnalysis a = analyze_channels(g);
  const Graph p = prune(g,
                        {{a.group_of_producer("/expand/expand.0/Conv"), 0.5},
                         {a.group_of_producer("/conv5/conv5.0/Conv"), 0.5}},
                        {});
  const Node* dw = p.find_node("/dsep/dw/dw.0/Conv");
  EXPECT_EQ(p.initializer(dw->inputs[1]).shape, (Shape{32, 1, 3, 3}));
  EXPECT_EQ(dw->i("group"), 32);
  EXPECT_EQ(p.initializer(p.find_node("/dsep/pw/pw.0/Conv")->inputs[1]).shape[1], 32);
  EXPECT_EQ(p.initializer(p.find_node("/fc1/Gemm")->inputs[1]).shape, (Shape{128, 64 * 9}));
}

TEST(Prune, NoOpIsBitIdentical) {
  const Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
  const HostTensor in = random_input(g, 4);
  const auto want = run(*compile(g, {4, 1}), in);
  // Ratio 0 everywhere, and 0.2 of 32 channels (rounds back to 32 at multiple 16).
  for (const auto& ratios : {std::map<int, double>{}, std::map<int, double>{{0, 0.0}, {1, 0.2}}}) {
    const Graph p = prune(g, ratios, {});
    expect_same_graph(g, p);
    EXPECT_EQ(run(*compile(p, {4, 1}), in), want);
  }
}

TEST(Prune, PrunedModelRoundTripsThroughOnnx) {
  const Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
  std::map<int, double> ratios;
  for (const auto& gr : dependency_groups(g))
    if (gr.prunable) ratios[gr.id] = 0.5;
  const Graph p = prune(g, ratios, {});
  const Graph back = load_onnx_bytes(to_onnx_bytes(p), "pruned.onnx");
  const HostTensor in = random_input(g, 4);
  const auto want = run(*compile(p, {4, 1}), in);
  EXPECT_LE(max_abs_diff(run(*compile(back, {4, 1}), in), want),
            1e-5 * std::max(1.0, max_abs(want)));
}

TEST(Prune, RejectsBadRequests) {
  const Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
  EXPECT_THROW(prune(g, {{6, 0.5}}, {}), UsageError);  // the output layer's group
  EXPECT_THROW(prune(g, {{0, 1.0}}, {}), UsageError);
  EXPECT_THROW(prune(g, {{99, 0.5}}, {}), UsageError);
  try {
    prune(g, {{6, 0.5}}, {});
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("group 6 (/fc2/Gemm) cannot be pruned"), std::string::npos)
        << e.what();
  }
}

struct RealCase {
  std::string path;
  double ratio;
};

class PruneRealModel : public ::testing::TestWithParam<RealCase> {};

// Uniform pruning of every prunable group: consistent shapes (infer_shapes agrees with every
// weight), never zero channels, the output layer untouched, the oneDNN executor runs it, and
// applying twice gives the same graph.
TEST_P(PruneRealModel, ConsistentRunnableDeterministic) {
  const Graph g = load_onnx(kSrc + GetParam().path);
  const ChannelAnalysis a = analyze_channels(g);
  std::map<int, double> ratios;
  for (const auto& gr : a.groups)
    if (gr.prunable) ratios[gr.id] = GetParam().ratio;
  const Graph p = prune(g, ratios, {});
  for (const auto& gr : a.groups) {
    const int64_t want =
        gr.prunable ? kept_channel_count(gr.channels, GetParam().ratio, 16) : gr.channels;
    for (const auto& l : gr.producers) EXPECT_EQ(out_channels(p, l), want) << l;
    for (const auto& l : gr.followers) EXPECT_EQ(out_channels(p, l), want) << l;
    EXPECT_GT(want, 0);
  }
  Graph reinferred = p;
  EXPECT_NO_THROW(infer_shapes(reinferred));
  for (const auto& n : p.nodes)
    EXPECT_EQ(reinferred.value(n.outputs[0]).shape, p.value(n.outputs[0]).shape) << n.name;
  // The output layer keeps its outputs (its inputs follow the layer before it).
  const Node* out_layer = p.find_node(a.groups.back().producers[0]);
  EXPECT_EQ(p.initializer(out_layer->inputs[1]).shape[0],
            g.initializer(out_layer->inputs[1]).shape[0]);
  EXPECT_EQ(p.initializer(out_layer->inputs[2]).f, g.initializer(out_layer->inputs[2]).f);
  int64_t macs = 0, macs_p = 0;
  for (const auto& l : weighted_layers(g)) macs += l.macs;
  for (const auto& l : weighted_layers(p)) macs_p += l.macs;
  EXPECT_LT(macs_p, macs);
  const HostTensor in = random_input(g, 2);
  const auto y = compile(p, {2, 1})->run({in})[0];
  EXPECT_EQ(y.shape, with_batch(g.value(g.outputs[0]).shape, 2));
  expect_same_graph(p, prune(g, ratios, {}));
}

INSTANTIATE_TEST_SUITE_P(Models, PruneRealModel,
                         ::testing::Values(RealCase{"/examples/fashion_cnn.onnx", 0.25},
                                           RealCase{"/examples/fashion_cnn.onnx", 0.5},
                                           RealCase{"/examples/fashion_cnn.onnx", 0.9},
                                           RealCase{"/tests/fixtures/resnet18_32.onnx", 0.25},
                                           RealCase{"/tests/fixtures/resnet18_32.onnx", 0.5},
                                           RealCase{"/tests/fixtures/resnet18_32.onnx", 0.9},
                                           RealCase{"/tests/fixtures/mobilenet_v2_64.onnx", 0.25},
                                           RealCase{"/tests/fixtures/mobilenet_v2_64.onnx", 0.5},
                                           RealCase{"/tests/fixtures/mobilenet_v2_64.onnx", 0.9}),
                         [](const auto& info) {
                           std::string s = info.param.path.substr(info.param.path.rfind('/') + 1);
                           s = s.substr(0, s.find('.')) + "_" +
                               std::to_string(int(info.param.ratio * 100));
                           return s;
                         });

TEST(Prune, ConcatAndSqueezeExcitationRunOnBothExecutors) {
  GraphBuilder b({1, 3, 8, 8});
  const auto x = b.unary("Relu", b.conv("x", 32, 3, 1, {1, 1, 1, 1}));
  const auto s =
      b.unary("Sigmoid", b.conv(b.unary("Relu", b.conv(b.global_pool(x), 16, 1)), 32, 1));
  const auto se = b.binary("Mul", x, s);
  const auto other = b.unary("Relu", b.conv("x", 48, 1));
  const auto cat = b.node("Concat", {se, other}, {kBatch, 80, 8, 8}, {{"axis", int64_t(1)}});
  const auto y = b.gemm(b.flatten(b.global_pool(b.conv(cat, 16, 1))), 5);
  const Graph g = b.finish({y});
  std::map<int, double> ratios;
  for (const auto& gr : dependency_groups(g))
    if (gr.prunable) ratios[gr.id] = 0.5;
  const Graph p = prune(g, ratios, {});
  const HostTensor in = random_input(g, 2);
  const auto want = run(*make_reference_executor(p), in);
  EXPECT_LE(max_abs_diff(run(*compile(p, {2, 1}), in), want), 1e-4 * std::max(1.0, max_abs(want)));
  EXPECT_EQ(p.value(cat).shape, (Shape{kBatch, 16 + 32, 8, 8}));
}

}  // namespace
}  // namespace autocompress
