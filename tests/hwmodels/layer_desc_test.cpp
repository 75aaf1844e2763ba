#include "hwmodels/layer_desc.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "models.hpp"

namespace ac = autocompress;
using ac::LayerKind;
using ac::Precision;

namespace {

const ac::Graph& fashion() { return ac::testing::fashion_cnn(); }

struct Expected {
  const char* name;
  LayerKind kind;
  int64_t macs;  // per sample
};

// BN, ReLU and the residual Add fuse into the convolutions; Flatten is a view.
const Expected kFashion[] = {
    {"/stem/stem.0/Conv", LayerKind::kConv, 225792},
    {"/pool1/MaxPool", LayerKind::kPool, 32 * 14 * 14 * 4},
    {"/res/conv1/conv1.0/Conv", LayerKind::kConv, 1806336},
    {"/res/conv2/conv2.0/Conv", LayerKind::kConv, 1806336},
    {"/expand/expand.0/Conv", LayerKind::kConv, 3612672},
    {"/dsep/dw/dw.0/Conv", LayerKind::kDepthwise, 112896},
    {"/dsep/pw/pw.0/Conv", LayerKind::kConv, 802816},
    {"/pool2/MaxPool", LayerKind::kPool, 64 * 7 * 7 * 4},
    {"/conv5/conv5.0/Conv", LayerKind::kConv, 3612672},
    {"/pool3/MaxPool", LayerKind::kPool, 128 * 3 * 3 * 4},
    {"/fc1/Gemm", LayerKind::kGemm, 147456},
    {"/fc2/Gemm", LayerKind::kGemm, 1280},
};

TEST(Describe, FashionCnnScheduleAndMacs) {
  const auto s = ac::describe(fashion(), 4);
  ASSERT_EQ(s.size(), std::size(kFashion));
  int64_t weighted = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    EXPECT_EQ(s[k].name, kFashion[k].name) << k;
    EXPECT_EQ(s[k].kind, kFashion[k].kind) << s[k].name;
    EXPECT_EQ(ac::layer_macs(s[k]), 4 * kFashion[k].macs) << s[k].name;
    EXPECT_EQ(s[k].batch, 4);
    EXPECT_EQ(s[k].precision, Precision::kFp32);
    if (s[k].wbits) weighted += ac::layer_macs(s[k]) / 4;
  }
  int64_t expected = 0;
  for (const auto& l : ac::weighted_layers(fashion())) expected += l.macs;
  EXPECT_EQ(weighted, expected);
}

TEST(Describe, ShapesOfConvDepthwiseGemm) {
  const auto s = ac::describe(fashion(), 1);
  const auto& stem = s[0];
  EXPECT_EQ(stem.c_in, 1);
  EXPECT_EQ(stem.c_out, 32);
  EXPECT_EQ(stem.h_in, 28);
  EXPECT_EQ(stem.h_out, 28);
  EXPECT_EQ(stem.kh, 3);
  EXPECT_EQ(stem.wbits, 32);
  EXPECT_DOUBLE_EQ(stem.taps, (82.0 / 28) * (82.0 / 28));  // 3x3, pad 1: 2 x 28 border taps lost
  EXPECT_DOUBLE_EQ(s[10].taps, 0);                         // Gemm
  EXPECT_FALSE(stem.residual);
  EXPECT_TRUE(s[3].residual);  // conv2 + BN + Add(pool1 output) + ReLU
  const auto& dw = s[5];
  EXPECT_EQ(dw.groups, 64);
  EXPECT_EQ(dw.c_in, 64);
  const auto& fc1 = s[10];
  EXPECT_EQ(fc1.c_in, 1152);
  EXPECT_EQ(fc1.c_out, 128);
  EXPECT_EQ(fc1.h_out, 1);
  const auto& pool3 = s[9];
  EXPECT_EQ(pool3.kh, 2);
  EXPECT_EQ(pool3.h_in, 7);
  EXPECT_EQ(pool3.h_out, 3);
  EXPECT_EQ(pool3.wbits, 0);
}

// int8 everywhere: the fp32 input is quantized once, the logits dequantized once.
TEST(Describe, ReordersAtGraphBoundaries) {
  const auto s = ac::describe(fashion(), 1, {}, {Precision::kInt8, 0, 0});
  ASSERT_EQ(s.size(), std::size(kFashion) + 2);
  EXPECT_EQ(s.front().kind, LayerKind::kReorder);
  EXPECT_EQ(s.front().name, "reorder:" + fashion().inputs[0]);
  EXPECT_EQ(s.front().abits, 32);
  EXPECT_EQ(s.front().obits, 8);
  EXPECT_EQ(s.back().kind, LayerKind::kReorder);
  EXPECT_EQ(s.back().precision, Precision::kFp32);
  EXPECT_EQ(s.back().c_out, 10);
  for (size_t k = 1; k + 1 < s.size(); ++k) {
    EXPECT_EQ(s[k].precision, Precision::kInt8) << s[k].name;  // pools inherit int8
    EXPECT_EQ(s[k].name, kFashion[k - 1].name);
  }
}

// Stem in fp32, the rest int8: pool1 (fp32, inherits from the stem) feeds conv1 and the residual
// of conv2; its output is converted once and both read the converted tensor.
TEST(Describe, ReorderOncePerTensorAtModeBoundary) {
  const auto s = ac::describe(fashion(), 1, {{"/stem/stem.0/Conv", {Precision::kFp32, 0, 0}}},
                              {Precision::kInt8, 4, 8});
  int reorders = 0;
  for (const auto& d : s) reorders += d.kind == LayerKind::kReorder;
  EXPECT_EQ(reorders, 2);  // after pool1, and the logits
  EXPECT_EQ(s[1].name, "/pool1/MaxPool");
  EXPECT_EQ(s[1].precision, Precision::kFp32);
  EXPECT_EQ(s[2].kind, LayerKind::kReorder);
  EXPECT_EQ(s[2].c_out, 32);
  EXPECT_EQ(s[2].h_out, 14);
  EXPECT_EQ(s[3].name, "/res/conv1/conv1.0/Conv");
  EXPECT_EQ(s[3].wbits, 4);
  EXPECT_EQ(s[3].abits, 8);
}

TEST(Describe, Errors) {
  EXPECT_THROW(ac::describe(fashion(), 1, {{"/pool1/MaxPool", {}}}), ac::ModelError);
  EXPECT_THROW(ac::describe(fashion(), 1, {{"/fc1/Gemm", {Precision::kInt8, 16, 8}}}),
               ac::UsageError);
  EXPECT_THROW(ac::describe(fashion(), 0), ac::UsageError);
}

TEST(Describe, ResNet18) {
  const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/tests/fixtures/resnet18_32.onnx");
  const auto s = ac::describe(g, 1);
  int64_t weighted = 0, convs = 0, residual = 0;
  for (const auto& d : s) {
    if (d.wbits) weighted += ac::layer_macs(d), ++convs;
    residual += d.residual;
  }
  int64_t expected = 0;
  for (const auto& l : ac::weighted_layers(g)) expected += l.macs;
  EXPECT_EQ(weighted, expected);
  EXPECT_EQ(convs, int64_t(ac::weighted_layers(g).size()));
  EXPECT_EQ(residual, 8);  // every basic block's Add fuses into its second conv
}

}  // namespace

namespace {

// MobileNet-v2: Clip (ReLU6) activations and all 10 residual Adds fuse; 17 depthwise convs.
TEST(Describe, MobileNetV2) {
  const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/tests/fixtures/mobilenet_v2_64.onnx");
  const auto s = ac::describe(g, 2);
  int64_t macs = 0, depthwise = 0, residual = 0, eltwise = 0;
  for (const auto& d : s) {
    if (d.wbits) macs += ac::layer_macs(d) / 2;
    depthwise += d.kind == LayerKind::kDepthwise;
    eltwise += d.kind == LayerKind::kEltwise;
    residual += d.residual;
  }
  int64_t expected = 0;
  for (const auto& l : ac::weighted_layers(g)) expected += l.macs;
  EXPECT_EQ(macs, expected);
  EXPECT_EQ(depthwise, 17);
  EXPECT_EQ(residual, 10);
  EXPECT_EQ(eltwise, 0);
  EXPECT_EQ(s.size(), ac::weighted_layers(g).size() + 1);  // + GlobalAveragePool
}

}  // namespace

namespace {

TEST(GraphPrecisions, ReadsTheNodesAttributes) {
  ac::Graph g = fashion();
  for (auto& n : g.nodes) {
    if (n.name == "/expand/expand.0/Conv") n.attrs["precision"] = std::string("bf16");
    if (n.name == "/fc1/Gemm")
      n.attrs["precision"] = std::string("int8"), n.attrs["wbits"] = int64_t(4);
    if (n.name == "/fc2/Gemm") n.attrs["wbits"] = int64_t(6);  // weight-only under fp32
  }
  const auto p = ac::graph_precisions(g);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p.at("/expand/expand.0/Conv").mode, ac::Precision::kBf16);
  EXPECT_EQ(p.at("/expand/expand.0/Conv").wbits, 0);
  EXPECT_EQ(p.at("/fc1/Gemm").mode, ac::Precision::kInt8);
  EXPECT_EQ(p.at("/fc1/Gemm").wbits, 4);
  EXPECT_EQ(p.at("/fc2/Gemm").mode, ac::Precision::kFp32);
  EXPECT_EQ(p.at("/fc2/Gemm").wbits, 6);
  for (const auto& d : ac::describe(g, 1, p)) {
    if (d.name == "/expand/expand.0/Conv") {
      EXPECT_EQ(d.precision, ac::Precision::kBf16);
    }
  }
  for (auto& n : g.nodes)
    if (n.name == "/fc2/Gemm") n.attrs["precision"] = std::string("fp64");
  EXPECT_THROW(ac::graph_precisions(g), ac::ModelError);
}

}  // namespace
