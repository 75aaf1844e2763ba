// Pruning dependency groups on the example model, resnet18 and mobilenet_v2, and on small
// constructed graphs (Concat offsets, Flatten blocks, squeeze-excitation Mul, grouped convs).
#include "compressors/dependency.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/onnx_io.hpp"
#include "tests/evaluator/graph_builder.hpp"

namespace autocompress {
namespace {

using testing::GraphBuilder;
const std::string kSrc = AC_SOURCE_DIR;

const PruneGroup& group_of(const std::vector<PruneGroup>& groups, const std::string& producer) {
  for (const auto& gr : groups)
    if (std::count(gr.producers.begin(), gr.producers.end(), producer)) return gr;
  throw std::runtime_error("no group produced by " + producer);
}

std::vector<std::string> consumer_layers(const PruneGroup& gr) {
  std::vector<std::string> v;
  for (const auto& c : gr.consumers) v.push_back(c.layer);
  return v;
}

using Names = std::vector<std::string>;

TEST(Dependency, ExampleModel) {
  const auto groups = dependency_groups(load_onnx(kSrc + "/examples/fashion_cnn.onnx"));
  ASSERT_EQ(groups.size(), 7u);
  // The residual Add joins the stem conv's output with the residual block's second conv.
  const PruneGroup& res = groups[0];
  EXPECT_EQ(res.producers, (Names{"/stem/stem.0/Conv", "/res/conv2/conv2.0/Conv"}));
  EXPECT_EQ(res.joins, (Names{"/res/Add"}));
  EXPECT_EQ(consumer_layers(res), (Names{"/res/conv1/conv1.0/Conv", "/expand/expand.0/Conv"}));
  EXPECT_EQ(res.channels, 32);
  EXPECT_TRUE(res.prunable);
  // The depthwise conv follows its producer.
  const PruneGroup& expand = group_of(groups, "/expand/expand.0/Conv");
  EXPECT_EQ(expand.followers, (Names{"/dsep/dw/dw.0/Conv"}));
  EXPECT_EQ(consumer_layers(expand), (Names{"/dsep/pw/pw.0/Conv"}));
  // Flatten -> Gemm: channel c of conv5 is the feature block [9c, 9c + 9).
  const PruneGroup& conv5 = group_of(groups, "/conv5/conv5.0/Conv");
  ASSERT_EQ(conv5.consumers.size(), 1u);
  EXPECT_EQ(conv5.consumers[0].layer, "/fc1/Gemm");
  EXPECT_EQ(conv5.consumers[0].block, 9);
  // The output layer is never pruned; everything else is.
  const PruneGroup& out = group_of(groups, "/fc2/Gemm");
  EXPECT_FALSE(out.prunable);
  EXPECT_NE(out.reason.find("output layer"), std::string::npos);
  EXPECT_EQ(std::count_if(groups.begin(), groups.end(), [](auto& g) { return g.prunable; }), 6);
}

TEST(Dependency, Resnet18ResidualGroupPerStage) {
  const auto groups = dependency_groups(load_onnx(kSrc + "/tests/fixtures/resnet18_32.onnx"));
  std::vector<const PruneGroup*> residual;
  for (const auto& gr : groups)
    if (!gr.joins.empty()) residual.push_back(&gr);
  ASSERT_EQ(residual.size(), 4u);  // one per stage, both blocks' Adds in it
  const int64_t widths[] = {64, 128, 256, 512};
  for (size_t s = 0; s < 4; ++s) {
    const PruneGroup& gr = *residual[s];
    EXPECT_EQ(gr.channels, widths[s]);
    EXPECT_EQ(gr.joins.size(), 2u) << gr.label();
    EXPECT_EQ(gr.producers.size(), 3u) << gr.label();  // stem or downsample, two conv2s
    EXPECT_TRUE(gr.prunable) << gr.label();
    const std::string stage = "layer" + std::to_string(s + 1);
    EXPECT_TRUE(std::count(gr.producers.begin(), gr.producers.end(),
                           "/" + stage + "/" + stage + ".1/conv2/Conv"))
        << gr.label();
  }
  EXPECT_EQ(residual[0]->producers[0], "/conv1/Conv");
  EXPECT_EQ(residual[3]->consumers.back().layer, "/fc/Gemm");
  // 1 stem-residual + 8 inner (conv1 of each block) + 3 more residual + fc = 13.
  EXPECT_EQ(groups.size(), 13u);
  EXPECT_FALSE(group_of(groups, "/fc/Gemm").prunable);
}

TEST(Dependency, MobilenetV2InvertedResidualsAndDepthwiseFollowers) {
  const Graph g = load_onnx(kSrc + "/tests/fixtures/mobilenet_v2_64.onnx");
  const ChannelAnalysis a = analyze_channels(g);
  int depthwise = 0;
  for (const auto& n : g.nodes) {
    if (!is_depthwise(g, n)) continue;
    ++depthwise;
    EXPECT_GE(a.group_of_follower(n.name), 0) << n.name;
    EXPECT_EQ(a.group_of_producer(n.name), -1) << n.name;
  }
  EXPECT_EQ(depthwise, 17);
  // Inverted residual groups: the projection convs of blocks 2-3, 4-6, 7-10, 11-13, 14-16.
  std::vector<size_t> producers;
  for (const auto& gr : a.groups)
    if (!gr.joins.empty()) producers.push_back(gr.producers.size());
  EXPECT_EQ(producers, (std::vector<size_t>{2, 3, 4, 3, 3}));
  EXPECT_FALSE(a.groups.back().prunable);
}

TEST(Dependency, ConcatOffsetsAndFlattenBlocks) {
  GraphBuilder b({1, 3, 4, 4});
  const auto c1 = b.conv("x", 8, 1), c2 = b.conv("x", 16, 1);
  const auto cat = b.node("Concat", {c1, c2}, {kBatch, 24, 4, 4}, {{"axis", int64_t(1)}});
  const auto y = b.conv(cat, 4, 1);
  const auto f = b.flatten(b.unary("Relu", cat));
  const auto z = b.gemm(f, 5);
  const Graph g = b.finish({y, z});
  const auto groups = dependency_groups(g);
  const PruneGroup& g1 = groups[0];
  const PruneGroup& g2 = groups[1];
  ASSERT_EQ(g1.consumers.size(), 2u);
  ASSERT_EQ(g2.consumers.size(), 2u);
  EXPECT_EQ(g1.consumers[0].offset, 0);
  EXPECT_EQ(g2.consumers[0].offset, 8);
  EXPECT_EQ(g1.consumers[1].offset, 0);
  EXPECT_EQ(g1.consumers[1].block, 16);
  EXPECT_EQ(g2.consumers[1].offset, 8 * 16);
  EXPECT_TRUE(g1.prunable && g2.prunable);
  EXPECT_FALSE(groups[2].prunable);  // y reaches a graph output
}

TEST(Dependency, SqueezeExcitationMulJoinsTheGateWithTheFeatures) {
  GraphBuilder b({1, 3, 8, 8});
  const auto x = b.unary("Relu", b.conv("x", 16, 3, 1, {1, 1, 1, 1}));
  const auto s = b.unary("Sigmoid", b.conv(b.unary("Relu", b.conv(b.global_pool(x), 4, 1)), 16, 1));
  const auto y = b.conv(b.binary("Mul", x, s), 8, 1);
  const auto groups = dependency_groups(b.finish({y}));
  const PruneGroup& se = groups[0];
  EXPECT_EQ(se.producers.size(), 2u);  // the feature conv and the gate's expand conv
  EXPECT_EQ(se.joins.size(), 1u);
  EXPECT_EQ(consumer_layers(se).size(), 2u);  // the squeeze conv and the next conv
  EXPECT_TRUE(se.prunable);
}

TEST(Dependency, GroupedConvAndPerChannelConstantsFreeze) {
  GraphBuilder b({1, 8, 4, 4});
  const auto a = b.conv("x", 16, 1);
  const auto gconv = b.conv(a, 16, 3, 1, {1, 1, 1, 1}, 1, 4);  // group 4: not depthwise
  TensorData k;
  k.shape = {16, 1, 1};
  k.f.assign(16, 2.f);
  const auto scaled = b.binary("Mul", b.conv(gconv, 16, 1), b.constant(k));
  const auto y = b.conv(scaled, 4, 1);
  const auto groups = dependency_groups(b.finish({y}));
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_FALSE(groups[0].prunable);
  EXPECT_NE(groups[0].reason.find("grouped conv"), std::string::npos) << groups[0].reason;
  EXPECT_FALSE(groups[1].prunable);
  EXPECT_NE(groups[1].reason.find("output of grouped conv"), std::string::npos);
  EXPECT_FALSE(groups[2].prunable);
  EXPECT_NE(groups[2].reason.find("per-channel constant"), std::string::npos) << groups[2].reason;
}

}  // namespace
}  // namespace autocompress
