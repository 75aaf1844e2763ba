// load_onnx: canonicalization of each op, constant folding, shape inference, naming, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "tests/model/model_test_util.hpp"

namespace autocompress {
namespace {

using namespace ac_test;
using Ints = std::vector<int64_t>;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ac_model_test_" + name)).string();
}

// x [N,3,8,8] -> Conv(w [4,3,3,3]) -> y, with `setup` adding attributes.
OnnxBuilder conv_model(const Ints& x, const Ints& w,
                       const std::function<void(NodeBuilder&)>& setup) {
  OnnxBuilder b(13);
  b.input("x", x).initializer("w", w, ramp(count_of(w))).output("y");
  auto n = b.node("Conv", {"x", "w"}, {"y"}, "conv");
  setup(n);
  return b;
}

// ---- Conv ----

TEST(OnnxLoadConv, DefaultsResolvedAndKernelFromWeight) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 8, 8})
      .initializer("w", {4, 3, 3, 3}, ramp(108))
      .initializer("bias", {4}, {1, 2, 3, 4})
      .output("y");
  b.node("Conv", {"x", "w", "bias"}, {"y"}, "conv");
  Graph g = load(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op, "Conv");
  EXPECT_EQ(n.ints("strides"), (Ints{1, 1}));
  EXPECT_EQ(n.ints("dilations"), (Ints{1, 1}));
  EXPECT_EQ(n.ints("pads"), (Ints{0, 0, 0, 0}));
  EXPECT_EQ(n.i("group"), 1);
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "w", "bias"}));
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 4, 6, 6}));
  EXPECT_EQ(g.value("w").shape, (Shape{4, 3, 3, 3}));  // initializers have ValueInfo too
  EXPECT_EQ(g.initializer("bias").f, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(node_macs(g, n), 4 * 3 * 9 * 36);
}

struct AutoPadCase {
  std::string mode;
  int64_t size, stride;
  Ints pads;
  int64_t out;
};

class OnnxLoadAutoPad : public ::testing::TestWithParam<AutoPadCase> {};

TEST_P(OnnxLoadAutoPad, ResolvedToExplicitPads) {
  const auto& c = GetParam();
  Graph g = load(conv_model({kSym, 3, c.size, c.size}, {4, 3, 3, 3}, [&](NodeBuilder& n) {
    n.attr("auto_pad", c.mode).attr("strides", {c.stride, c.stride});
  }));
  EXPECT_EQ(g.nodes[0].ints("pads"), c.pads);
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 4, c.out, c.out}));
}

INSTANTIATE_TEST_SUITE_P(Modes, OnnxLoadAutoPad,
                         ::testing::Values(AutoPadCase{"SAME_UPPER", 7, 2, {1, 1, 1, 1}, 4},
                                           AutoPadCase{"SAME_UPPER", 8, 2, {0, 0, 1, 1}, 4},
                                           AutoPadCase{"SAME_LOWER", 8, 2, {1, 1, 0, 0}, 4},
                                           AutoPadCase{"SAME_UPPER", 8, 1, {1, 1, 1, 1}, 8},
                                           AutoPadCase{"VALID", 8, 2, {0, 0, 0, 0}, 3}));

TEST(OnnxLoadConv, GroupsAndDilations) {
  Graph g = load(conv_model({kSym, 4, 10, 10}, {8, 2, 3, 3}, [](NodeBuilder& n) {
    n.attr("group", 2).attr("dilations", {2, 2}).attr("pads", {1, 1, 1, 1});
  }));
  // (10 + 2 - (2*(3-1)+1)) / 1 + 1 = 8
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 8, 8, 8}));
  EXPECT_EQ(g.nodes[0].i("group"), 2);
  EXPECT_EQ(node_macs(g, g.nodes[0]), 8 * 2 * 9 * 64);
}

TEST(OnnxLoadConv, OneDimensionalIsUnsupported) {
  auto msg = error_of<UnsupportedError>([] {
    load(conv_model({kSym, 3, 8}, {4, 3, 3}, [](NodeBuilder&) {}));
  });
  EXPECT_NE(msg.find("1-D/3-D Conv not supported"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node 'conv'"), std::string::npos) << msg;
}

TEST(OnnxLoadConv, ChannelMismatchNamesNodeAndCounts) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 8, 8})
      .initializer("w1", {16, 3, 3, 3}, ramp(432))
      .initializer("w2", {8, 3, 3, 3}, ramp(216))
      .output("y");
  b.node("Conv", {"x", "w1"}, {"h"}, "conv1");
  b.node("Conv", {"h", "w2"}, {"y"}, "conv2");
  auto msg = error_of<ModelError>([&] { load(b, "bad.onnx"); });
  EXPECT_EQ(msg, "bad.onnx: node 'conv2': input has 16 channels, weight expects 3 x group 1");
}

TEST(OnnxLoadConv, WeightFromGraphInputIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 8, 8}).input("w", {4, 3, 3, 3}).output("y");
  b.node("Conv", {"x", "w"}, {"y"}, "conv");
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("weight 'w' must be an initializer"), std::string::npos) << msg;
}

// ---- Gemm / MatMul ----

TEST(OnnxLoadGemm, AlphaBetaTransBFoldedNumerically) {
  // B is [K=3, M=2] (transB=0): W must be alpha * B^T, bias beta * C.
  OnnxBuilder b(13);
  b.input("x", {kSym, 3})
      .initializer("B", {3, 2}, {1, 2, 3, 4, 5, 6})
      .initializer("C", {2}, {10, 20})
      .output("y");
  b.node("Gemm", {"x", "B", "C"}, {"y"}, "fc").attr("alpha", 2.0).attr("beta", 0.5);
  Graph g = load(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  ASSERT_EQ(n.op, "Gemm");
  const TensorData& w = g.initializer(n.inputs[1]);
  EXPECT_EQ(w.shape, (Shape{2, 3}));
  EXPECT_EQ(w.f, (std::vector<float>{2, 6, 10, 4, 8, 12}));
  EXPECT_EQ(g.initializer(n.inputs[2]).f, (std::vector<float>{5, 10}));
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 2}));
  EXPECT_FALSE(g.is_initializer("B"));  // the unused original is dropped
}

TEST(OnnxLoadGemm, TransBKeepsWeightAndBroadcastsScalarBias) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3}).initializer("W", {2, 3}, ramp(6)).initializer("C", {1}, {7}).output("y");
  b.node("Gemm", {"x", "W", "C"}, {"y"}).attr("transB", 1);
  Graph g = load(b);
  EXPECT_EQ(g.nodes[0].inputs[1], "W");
  EXPECT_EQ(g.initializer(g.nodes[0].inputs[2]).f, (std::vector<float>{7, 7}));
}

TEST(OnnxLoadGemm, RowBiasAndBiasMatrix) {
  for (bool matrix : {false, true}) {
    OnnxBuilder b(13);
    Ints cdims = matrix ? Ints{4, 2} : Ints{1, 2};
    b.input("x", {4, 3})
        .initializer("W", {2, 3}, ramp(6))
        .initializer("C", cdims, ramp(count_of(cdims)));
    b.output("y");
    b.node("Gemm", {"x", "W", "C"}, {"y"}, "fc").attr("transB", 1);
    if (!matrix) {
      Graph g = load(b);
      EXPECT_EQ(g.initializer(g.nodes[0].inputs[2]).shape, (Shape{2}));
    } else {
      auto msg = error_of<UnsupportedError>([&] { load(b); });
      EXPECT_NE(msg.find("bias C of shape [4,2]"), std::string::npos) << msg;
    }
  }
}

TEST(OnnxLoadGemm, TransAAndRunTimeWeightAreUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {3, 4}).initializer("W", {3, 2}, ramp(6)).output("y");
  b.node("Gemm", {"x", "W"}, {"y"}, "fc").attr("transA", 1);
  EXPECT_NE(error_of<UnsupportedError>([&] { load(b); }).find("transA=1"), std::string::npos);

  OnnxBuilder c(13);
  c.input("x", {kSym, 3}).input("w", {2, 3}).output("y");
  c.node("Gemm", {"x", "w"}, {"y"}, "fc").attr("transB", 1);
  EXPECT_NE(error_of<UnsupportedError>([&] { load(c); }).find("must be an initializer"),
            std::string::npos);
}

TEST(OnnxLoadGemm, KMismatch) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).initializer("W", {2, 3}, ramp(6)).output("y");
  b.node("Gemm", {"x", "W"}, {"y"}, "fc").attr("transB", 1);
  auto msg = error_of<ModelError>([&] { load(b); });
  EXPECT_NE(msg.find("node 'fc': input has 4 features"), std::string::npos) << msg;
}

TEST(OnnxLoadMatMul, MatMulPlusAddBecomesGemmWithBias) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3})
      .initializer("B", {3, 2}, {1, 2, 3, 4, 5, 6})
      .initializer("c", {1, 2}, {0.5f, -0.5f})
      .output("y");
  b.node("MatMul", {"x", "B"}, {"xb"}, "linear");
  b.node("Add", {"c", "xb"}, {"y"}, "bias_add");
  Graph g = load(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& n = g.nodes[0];
  EXPECT_EQ(n.op, "Gemm");
  EXPECT_EQ(n.name, "linear");
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(g.initializer(n.inputs[1]).f, (std::vector<float>{1, 3, 5, 2, 4, 6}));
  EXPECT_EQ(g.initializer(n.inputs[2]).f, (std::vector<float>{0.5f, -0.5f}));
  EXPECT_EQ(g.initializer(n.inputs[2]).shape, (Shape{2}));
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 2}));
  EXPECT_EQ(g.values.count("xb"), 0u);
}

TEST(OnnxLoadMatMul, NoFusionWhenProductHasAnotherReader) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3}).initializer("B", {3, 2}, ramp(6)).initializer("c", {2}, {1, 2});
  b.output("y").output("xb");
  b.node("MatMul", {"x", "B"}, {"xb"});
  b.node("Add", {"xb", "c"}, {"y"});
  Graph g = load(b);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Gemm", "Add"}));
  EXPECT_EQ(g.nodes[0].inputs.size(), 2u);
}

TEST(OnnxLoadMatMul, ThreeDimensionalIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4, 3}).initializer("B", {3, 2}, ramp(6)).output("y");
  b.node("MatMul", {"x", "B"}, {"y"}, "mm");
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("3-D activation"), std::string::npos) << msg;
}

// ---- BatchNormalization ----

OnnxBuilder bn_model(int64_t opset, int64_t training_mode, int64_t channels_in_params = 3) {
  OnnxBuilder b(opset);
  int64_t c = channels_in_params;
  b.input("x", {kSym, 3, 4, 4}).output("y");
  for (const char* p : {"s", "b", "m", "v"}) b.initializer(p, {c}, ramp(c, 0.5f));
  std::vector<std::string> outs = {"y"};
  if (opset < 14) outs = {"y", "mean_out", "var_out", "saved_mean", "saved_var"};
  auto n =
      b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, outs, "bn").attr("epsilon", 1e-3);
  if (training_mode >= 0) n.attr("training_mode", training_mode);
  return b;
}

TEST(OnnxLoadBatchNorm, Opset9And15Forms) {
  for (int64_t opset : {9, 15}) {
    Graph g = load(bn_model(opset, opset >= 14 ? 0 : -1));
    ASSERT_EQ(ops_of(g), (std::vector<std::string>{"BatchNormalization"})) << opset;
    EXPECT_FLOAT_EQ(g.nodes[0].f("epsilon"), 1e-3f);
    EXPECT_EQ(g.nodes[0].outputs, (std::vector<std::string>{"y"}));
    EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 3, 4, 4}));
  }
}

TEST(OnnxLoadBatchNorm, TrainingModeIsUnsupported) {
  auto msg = error_of<UnsupportedError>([] { load(bn_model(15, 1), "bn.onnx"); });
  EXPECT_NE(msg.find("bn.onnx: node 'bn': BatchNormalization with training_mode=1"),
            std::string::npos)
      << msg;
}

TEST(OnnxLoadBatchNorm, ParameterSizeMismatch) {
  auto msg = error_of<ModelError>([] { load(bn_model(15, 0, 4)); });
  EXPECT_NE(msg.find("node 'bn': BatchNormalization scale has shape [4], expected [3]"),
            std::string::npos)
      << msg;
}

// ---- activations ----

OnnxBuilder unary_model(int64_t opset, const std::string& op) {
  OnnxBuilder b(opset);
  b.input("x", {kSym, 8}).output("y");
  b.node(op, {"x"}, {"y"}, "act");
  return b;
}

TEST(OnnxLoadActivations, DefaultsFilledIn) {
  Graph lr = load(unary_model(13, "LeakyRelu"));
  EXPECT_FLOAT_EQ(lr.nodes[0].f("alpha"), 0.01f);
  Graph hs = load(unary_model(13, "HardSigmoid"));
  EXPECT_FLOAT_EQ(hs.nodes[0].f("alpha"), 0.2f);
  EXPECT_FLOAT_EQ(hs.nodes[0].f("beta"), 0.5f);
  for (const char* op : {"Relu", "Sigmoid"}) EXPECT_EQ(load(unary_model(13, op)).nodes[0].op, op);
  EXPECT_EQ(load(unary_model(14, "HardSwish")).nodes[0].op, "HardSwish");
}

TEST(OnnxLoadClip, AttributeForm) {
  OnnxBuilder b(9);
  b.input("x", {kSym, 8}).output("y");
  b.node("Clip", {"x"}, {"y"}).attr("min", 0.0).attr("max", 6.0);
  Graph g = load(b);
  EXPECT_EQ(g.nodes[0].f("min"), 0.0f);
  EXPECT_EQ(g.nodes[0].f("max"), 6.0f);
}

TEST(OnnxLoadClip, InputFormWithConstantNodesAndAbsentBounds) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 8}).output("y").output("z");
  b.node("Constant", {}, {"lo"}).attr("value", float_tensor("", {}, {0.0f}));
  b.node("Constant", {}, {"hi"}).attr("value", float_tensor("", {}, {6.0f}));
  b.node("Clip", {"x", "lo", "hi"}, {"y"});
  b.node("Clip", {"x", "", "hi"}, {"z"});
  Graph g = load(b);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].f("min"), 0.0f);
  EXPECT_EQ(g.nodes[0].f("max"), 6.0f);
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(std::isinf(g.nodes[1].f("min")) && g.nodes[1].f("min") < 0);
  EXPECT_EQ(g.nodes[1].f("max"), 6.0f);
  EXPECT_TRUE(g.initializers.empty());
}

// ---- pooling ----

TEST(OnnxLoadPool, MaxPoolCeilModeAndDilations) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 2, 6, 6}).output("a").output("c").output("d");
  b.node("MaxPool", {"x"}, {"a"}).attr("kernel_shape", {3, 3}).attr("strides", {2, 2});
  b.node("MaxPool", {"x"}, {"c"})
      .attr("kernel_shape", {3, 3})
      .attr("strides", {2, 2})
      .attr("ceil_mode", 1);
  b.node("MaxPool", {"x"}, {"d"}).attr("kernel_shape", {2, 2}).attr("dilations", {2, 2});
  Graph g = load(b);
  EXPECT_EQ(g.value("a").shape, (Shape{kBatch, 2, 2, 2}));
  EXPECT_EQ(g.value("c").shape, (Shape{kBatch, 2, 3, 3}));
  EXPECT_EQ(g.value("d").shape, (Shape{kBatch, 2, 4, 4}));
  EXPECT_EQ(g.nodes[1].i("ceil_mode"), 1);
  EXPECT_EQ(g.nodes[2].ints("dilations"), (Ints{2, 2}));
  EXPECT_EQ(g.nodes[0].ints("pads"), (Ints{0, 0, 0, 0}));
}

TEST(OnnxLoadPool, CeilModeLastWindowMustStartInside) {
  // 4 + 0 + 1 padding, kernel 2, stride 2, ceil: a third window would start in the right padding
  // only; PyTorch and ONNX Runtime drop it.
  OnnxBuilder b(13);
  b.input("x", {kSym, 1, 4, 4}).output("y");
  b.node("MaxPool", {"x"}, {"y"})
      .attr("kernel_shape", {2, 2})
      .attr("strides", {2, 2})
      .attr("pads", {0, 0, 1, 1})
      .attr("ceil_mode", 1);
  EXPECT_EQ(load(b).value("y").shape, (Shape{kBatch, 1, 2, 2}));
}

TEST(OnnxLoadPool, AutoPadAndAveragePoolAttributes) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 2, 5, 5}).output("m").output("a");
  b.node("MaxPool", {"x"}, {"m"})
      .attr("kernel_shape", {3, 3})
      .attr("strides", {2, 2})
      .attr("auto_pad", "SAME_UPPER");
  b.node("AveragePool", {"x"}, {"a"})
      .attr("kernel_shape", {2, 2})
      .attr("pads", {1, 1, 1, 1})
      .attr("count_include_pad", 1);
  Graph g = load(b);
  EXPECT_EQ(g.nodes[0].ints("pads"), (Ints{1, 1, 1, 1}));
  EXPECT_EQ(g.value("m").shape, (Shape{kBatch, 2, 3, 3}));
  EXPECT_EQ(g.nodes[1].i("count_include_pad"), 1);
  EXPECT_EQ(g.nodes[1].i("ceil_mode"), 0);
  EXPECT_EQ(g.value("a").shape, (Shape{kBatch, 2, 6, 6}));
}

TEST(OnnxLoadPool, IndicesOutputIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 2, 4, 4}).output("y").output("idx", onnx::TensorProto::INT64);
  b.node("MaxPool", {"x"}, {"y", "idx"}, "pool").attr("kernel_shape", {2, 2});
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("Indices"), std::string::npos) << msg;
}

TEST(OnnxLoadPool, GlobalAveragePoolAndReduceMean) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 5, 7}).output("gap").output("rm").output("rk");
  b.node("GlobalAveragePool", {"x"}, {"gap"});
  b.node("ReduceMean", {"x"}, {"rm"}).attr("axes", {-1, -2}).attr("keepdims", 0);
  b.node("ReduceMean", {"x"}, {"rk"}).attr("axes", {3});
  Graph g = load(b);
  EXPECT_EQ(g.value("gap").shape, (Shape{kBatch, 3, 1, 1}));
  EXPECT_EQ(g.nodes[1].ints("axes"), (Ints{2, 3}));
  EXPECT_EQ(g.nodes[1].i("keepdims"), 0);
  EXPECT_EQ(g.value("rm").shape, (Shape{kBatch, 3}));
  EXPECT_EQ(g.nodes[2].i("keepdims"), 1);
  EXPECT_EQ(g.value("rk").shape, (Shape{kBatch, 3, 5, 1}));
}

TEST(OnnxLoadPool, ReduceMeanOverAllAxesReducesTheBatch) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3}).output("y");
  b.node("ReduceMean", {"x"}, {"y"}, "rm");
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("batch"), std::string::npos) << msg;
}

// ---- Pad ----

TEST(OnnxLoadPad, Opset13InputsAndOpset9Attributes) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 2, 4, 4}).initializer_i64("p", {8}, {0, 0, 1, 2, 0, 0, 3, 4});
  b.initializer("v", {}, {1.5f}).output("y");
  b.node("Pad", {"x", "p", "v"}, {"y"});
  Graph g = load(b);
  EXPECT_EQ(g.nodes[0].ints("pads"), (Ints{0, 0, 1, 2, 0, 0, 3, 4}));
  EXPECT_EQ(g.nodes[0].f("value"), 1.5f);
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 2, 8, 10}));
  EXPECT_TRUE(g.initializers.empty());

  OnnxBuilder o(9);
  o.input("x", {kSym, 2, 4, 4}).output("y");
  o.node("Pad", {"x"}, {"y"}).attr("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  Graph h = load(o);
  EXPECT_EQ(h.nodes[0].f("value"), 0.0f);
  EXPECT_EQ(h.value("y").shape, (Shape{kBatch, 2, 6, 6}));
}

TEST(OnnxLoadPad, ReflectIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 2, 4, 4}).initializer_i64("p", {8}, {0, 0, 1, 1, 0, 0, 1, 1}).output("y");
  b.node("Pad", {"x", "p"}, {"y"}, "pad").attr("mode", "reflect");
  auto msg = error_of<UnsupportedError>([&] { load(b, "pad.onnx"); });
  EXPECT_EQ(msg, "pad.onnx: node 'pad': Pad mode 'reflect' is not supported (only 'constant')");
}

// ---- elementwise, Concat, Flatten ----

TEST(OnnxLoadBinary, BroadcastShapes) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 4, 4}).initializer("s", {3, 1, 1}, {1, 2, 3}).output("y").output("z");
  b.node("Mul", {"x", "s"}, {"y"});
  b.node("Sub", {"s", "x"}, {"z"});
  Graph g = load(b);
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 3, 4, 4}));
  EXPECT_EQ(g.value("z").shape, (Shape{kBatch, 3, 4, 4}));
  EXPECT_TRUE(g.is_initializer("s"));
}

TEST(OnnxLoadBinary, ShapeMismatchNamesNodeAndShapes) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 4, 4}).initializer("s", {4, 3}, ramp(12)).output("y");
  b.node("Add", {"x", "s"}, {"y"}, "add1");
  auto msg = error_of<ModelError>([&] { load(b); });
  EXPECT_NE(msg.find("node 'add1'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[N,3,4,4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4,3]"), std::string::npos) << msg;
}

TEST(OnnxLoadConcatFlatten, AxesNormalized) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 2, 2}).input("x2", {kSym, 5, 2, 2}).output("c").output("f");
  b.node("Concat", {"x", "x2"}, {"c"}).attr("axis", -3);
  b.node("Flatten", {"c"}, {"f"}).attr("axis", -3);
  Graph g = load(b);
  EXPECT_EQ(g.nodes[0].i("axis"), 1);
  EXPECT_EQ(g.value("c").shape, (Shape{kBatch, 8, 2, 2}));
  EXPECT_EQ(g.nodes[1].i("axis"), 1);
  EXPECT_EQ(g.value("f").shape, (Shape{kBatch, 32}));
}

// ---- Reshape and the no-op rewrites ----

struct ReshapeCase {
  Ints input, target;
  Shape expected;
};

class OnnxLoadReshape : public ::testing::TestWithParam<ReshapeCase> {};

TEST_P(OnnxLoadReshape, ResolvedWithBatch) {
  const auto& c = GetParam();
  OnnxBuilder b(13);
  b.input("x", c.input).initializer_i64("s", {static_cast<int64_t>(c.target.size())}, c.target);
  b.output("y");
  b.node("Reshape", {"x", "s"}, {"y"}, "reshape");
  Graph g = load(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].ints("shape"), c.expected);
  EXPECT_EQ(g.value("y").shape, c.expected);
  EXPECT_TRUE(g.initializers.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Targets, OnnxLoadReshape,
    ::testing::Values(ReshapeCase{{kSym, 4, 2, 2}, {0, -1}, {kBatch, 16}},
                      ReshapeCase{{kSym, 4, 2, 2}, {-1, 16}, {kBatch, 16}},
                      ReshapeCase{{kSym, 4, 2, 2}, {0, 2, 8}, {kBatch, 2, 8}},
                      ReshapeCase{{1, 4, 2, 2}, {1, -1}, {kBatch, 16}},  // exported at batch 1
                      ReshapeCase{{1, 4, 2, 2}, {1, 16}, {kBatch, 16}},
                      ReshapeCase{{kSym, 16}, {0, 4, -1, 2}, {kBatch, 4, 2, 2}}));

TEST(OnnxLoadReshape, MixingBatchIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4, 2, 2}).initializer_i64("s", {2}, {2, -1}).output("y");
  b.node("Reshape", {"x", "s"}, {"y"}, "reshape");
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("mixes the batch dimension"), std::string::npos) << msg;
}

// torch's x.view(x.size(0), -1): Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape.
OnnxBuilder torch_flatten_chain(int64_t opset) {
  OnnxBuilder b(opset);
  b.input("x", {kSym, 4, 3, 3}).output("y");
  b.node("Shape", {"x"}, {"shape"});
  b.node("Constant", {}, {"zero"}).attr("value", int64_tensor("", {}, {0}));
  b.node("Gather", {"shape", "zero"}, {"n"}).attr("axis", 0);
  if (opset >= 13) {
    b.node("Constant", {}, {"axes"}).attr("value", int64_tensor("", {1}, {0}));
    b.node("Unsqueeze", {"n", "axes"}, {"n1"});
  } else {
    b.node("Unsqueeze", {"n"}, {"n1"}).attr("axes", {0});
  }
  b.node("Constant", {}, {"minus1"}).attr("value", int64_tensor("", {1}, {-1}));
  b.node("Concat", {"n1", "minus1"}, {"target"}).attr("axis", 0);
  b.node("Reshape", {"x", "target"}, {"y"}, "flatten_view");
  return b;
}

TEST(OnnxLoadFolding, TorchFlattenChainFolds) {
  for (int64_t opset : {11, 13}) {
    Graph g = load(torch_flatten_chain(opset));
    ASSERT_EQ(ops_of(g), (std::vector<std::string>{"Reshape"})) << opset;
    EXPECT_EQ(g.nodes[0].ints("shape"), (Ints{kBatch, 36}));
    EXPECT_EQ(g.nodes[0].name, "flatten_view");
    EXPECT_TRUE(g.initializers.empty());
    EXPECT_EQ(g.values.size(), 2u);  // x and y: the shape tensors are gone
  }
}

TEST(OnnxLoadFolding, ShapeArithmeticOnBatchIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).initializer_i64("two", {1}, {2}).output("y");
  b.node("Shape", {"x"}, {"s"});
  b.node("Mul", {"s", "two"}, {"s2"});
  b.node("Reshape", {"x", "s2"}, {"y"}, "r");
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("batch"), std::string::npos) << msg;
}

TEST(OnnxLoadFolding, ConstantArithmeticSliceCastFold) {
  // shape = Cast(Slice(Shape(x), 1, 3)) * [1, 2] -> [4, 6]; y = Reshape(x, [0, 4*6/2...])
  OnnxBuilder b(13);
  b.input("x", {kSym, 4, 3, 2}).output("y");
  b.initializer_i64("st", {1}, {1})
      .initializer_i64("en", {1}, {3})
      .initializer_i64("k", {2}, {1, 2});
  b.initializer_i64("n0", {1}, {0});
  b.node("Shape", {"x"}, {"s"});
  b.node("Slice", {"s", "st", "en"}, {"hw"});
  b.node("Cast", {"hw"}, {"hw32"}).attr("to", int64_t{onnx::TensorProto::INT32});
  b.node("Cast", {"hw32"}, {"hw64"}).attr("to", int64_t{onnx::TensorProto::INT64});
  b.node("Mul", {"hw64", "k"}, {"dims"});
  b.node("Concat", {"n0", "dims"}, {"target"}).attr("axis", 0);
  b.node("Reshape", {"x", "target"}, {"y"});
  Graph g = load(b);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].ints("shape"), (Ints{kBatch, 4, 6}));
}

TEST(OnnxLoadRewrites, SqueezeUnsqueezeTransposeBecomeReshape) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 8, 1, 1})
      .initializer_i64("ax", {2}, {2, 3})
      .initializer_i64("ax1", {1}, {-1});
  b.output("sq").output("us").output("tr");
  b.node("Squeeze", {"x", "ax"}, {"sq"});
  b.node("Unsqueeze", {"sq", "ax1"}, {"us"});
  b.node("Transpose", {"x"}, {"tr"}).attr("perm", {0, 2, 3, 1});
  Graph g = load(b);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Reshape", "Reshape", "Reshape"}));
  EXPECT_EQ(g.value("sq").shape, (Shape{kBatch, 8}));
  EXPECT_EQ(g.value("us").shape, (Shape{kBatch, 8, 1}));
  EXPECT_EQ(g.value("tr").shape, (Shape{kBatch, 1, 1, 8}));
  EXPECT_EQ(g.nodes[2].ints("shape"), (Ints{kBatch, 1, 1, 8}));
}

TEST(OnnxLoadRewrites, Opset11SqueezeAttributeAndRealTranspose) {
  OnnxBuilder b(11);
  b.input("x", {kSym, 8, 1, 3}).output("sq").output("tr");
  b.node("Squeeze", {"x"}, {"sq"}).attr("axes", {2});
  b.node("Transpose", {"x"}, {"tr"}).attr("perm", {0, 3, 2, 1});
  Graph g = load(b);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Reshape", "Transpose"}));
  EXPECT_EQ(g.value("sq").shape, (Shape{kBatch, 8, 3}));
  EXPECT_EQ(g.nodes[1].ints("perm"), (Ints{0, 3, 2, 1}));
  EXPECT_EQ(g.value("tr").shape, (Shape{kBatch, 3, 1, 8}));
}

TEST(OnnxLoadRewrites, TransposeMovingBatchIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 8}).output("y");
  b.node("Transpose", {"x"}, {"y"}, "t");
  EXPECT_NE(error_of<UnsupportedError>([&] { load(b); }).find("batch"), std::string::npos);
}

// ---- Softmax ----

TEST(OnnxLoadSoftmax, AxisDefaultsAndCoercion) {
  struct Case {
    int64_t opset;
    Ints shape;
    int64_t axis;  // -100: attribute absent
    int64_t want_axis, want_coerce;
  };
  for (const Case& c : {Case{11, {kSym, 3, 4, 5}, -100, 1, 1}, Case{11, {kSym, 10}, -100, 1, 0},
                        Case{11, {kSym, 3, 4}, -1, 2, 0}, Case{13, {kSym, 3, 4, 5}, -100, 3, 0},
                        Case{13, {kSym, 3, 4, 5}, 1, 1, 0}}) {
    OnnxBuilder b(c.opset);
    b.input("x", c.shape).output("y");
    auto n = b.node("Softmax", {"x"}, {"y"});
    if (c.axis != -100) n.attr("axis", c.axis);
    Graph g = load(b);
    EXPECT_EQ(g.nodes[0].i("axis"), c.want_axis) << c.opset << " " << shape_str(c.shape);
    EXPECT_EQ(g.nodes[0].i("coerce_2d"), c.want_coerce) << c.opset << " " << shape_str(c.shape);
  }
}

// ---- Identity, Dropout, Constant, Cast ----

TEST(OnnxLoadRemoved, IdentityDropoutCastRemovedAndOutputKeepsItsName) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y");
  b.node("Relu", {"x"}, {"r"}, "relu");
  b.node("Dropout", {"r"}, {"d", "mask"});
  b.node("Cast", {"d"}, {"c"}).attr("to", int64_t{onnx::TensorProto::FLOAT});
  b.node("Identity", {"c"}, {"y"});
  Graph g = load(b);
  ASSERT_EQ(ops_of(g), (std::vector<std::string>{"Relu"}));
  EXPECT_EQ(g.nodes[0].inputs[0], "x");
  EXPECT_EQ(g.nodes[0].outputs[0], "y");
  EXPECT_EQ(g.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 4}));
}

TEST(OnnxLoadRemoved, DropoutMaskUsedOrTrainingIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y").output("mask", onnx::TensorProto::BOOL);
  b.node("Dropout", {"x"}, {"y", "mask"}, "drop");
  EXPECT_NE(error_of<UnsupportedError>([&] { load(b); }).find("mask"), std::string::npos);

  OnnxBuilder t(13);
  t.input("x", {kSym, 4}).output("y");
  onnx::TensorProto train;
  train.set_name("train");
  train.set_data_type(onnx::TensorProto::BOOL);
  train.add_int32_data(1);
  t.initializer("ratio", {}, {0.5f}).initializer(train);
  t.node("Relu", {"x"}, {"r"});
  t.node("Dropout", {"r", "ratio", "train"}, {"y"}, "drop");
  auto msg = error_of<UnsupportedError>([&] { load(t); });
  EXPECT_NE(msg.find("training_mode"), std::string::npos) << msg;
}

TEST(OnnxLoadRemoved, ConstantNodeFormsBecomeInitializers) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 4, 4}).output("y").output("z");
  b.node("Constant", {}, {"w"}).attr("value", float_tensor("", {2, 3, 1, 1}, ramp(6)));
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("Constant", {}, {"k"}).attr("value_float", 2.0);
  b.node("Mul", {"c", "k"}, {"y"});
  b.node("Constant", {}, {"ks"}).attr("value_floats", std::vector<float>{1, 2, 3, 4});
  b.node("Add", {"c", "ks"}, {"z"});
  Graph g = load(b);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Conv", "Mul", "Add"}));
  EXPECT_EQ(g.initializer("w").shape, (Shape{2, 3, 1, 1}));
  EXPECT_EQ(g.initializer("k").f, (std::vector<float>{2}));
  EXPECT_EQ(g.value("k").shape, (Shape{}));
  EXPECT_EQ(g.value("z").shape, (Shape{kBatch, 2, 4, 4}));
}

// ---- graph-level: inputs, names, dead code, declared outputs ----

TEST(OnnxLoadGraph, ConcreteBatchBecomesSymbolicAndInitializerInputsSkipped) {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 4, 4}).input("s", {3, 1, 1}).initializer("s", {3, 1, 1}, {1, 2, 3});
  b.output("y", {1, 3, 4, 4});
  b.node("Mul", {"x", "s"}, {"y"});
  Graph g = load(b);
  EXPECT_EQ(g.inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(g.value("x").shape, (Shape{kBatch, 3, 4, 4}));
  EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 3, 4, 4}));
  EXPECT_EQ(g.opset, 13);
  EXPECT_EQ(g.source, "test.onnx");
}

TEST(OnnxLoadGraph, SecondInputBroadcastOperandIsNotBatched) {
  OnnxBuilder b(13);
  b.input("x", {3, 4, 5}).input("y", {5}).input("z", {3, 4, 5}).output("o").output("p");
  b.node("Add", {"x", "y"}, {"o"});
  b.node("Add", {"x", "z"}, {"p"});
  Graph g = load(b);
  EXPECT_EQ(g.value("y").shape, (Shape{5}));
  EXPECT_EQ(g.value("z").shape, (Shape{kBatch, 4, 5}));
  EXPECT_EQ(g.value("o").shape, (Shape{kBatch, 4, 5}));
}

TEST(OnnxLoadGraph, StableGeneratedNamesAndDuplicates) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 4, 4}).initializer("w", {3, 3, 1, 1}, ramp(9)).output("y");
  b.node("Conv", {"x", "w"}, {"a"});
  b.node("Relu", {"a"}, {"b"}, "act");
  b.node("Conv", {"b", "w"}, {"c"}, "same");
  b.node("Relu", {"c"}, {"d"}, "same");
  b.node("Conv", {"d", "w"}, {"e"}, "conv_0");  // collides with a generated name
  b.node("Conv", {"e", "w"}, {"y"});
  Graph g1 = load(b), g2 = load(b);
  std::vector<std::string> names;
  for (const auto& n : g1.nodes) names.push_back(n.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"conv_0_1", "act", "conv_1", "relu_1", "conv_0", "conv_3"}));
  for (size_t k = 0; k < g1.nodes.size(); ++k) EXPECT_EQ(g1.nodes[k].name, g2.nodes[k].name);
  ASSERT_EQ(weighted_layers(g1).size(), 4u);
  EXPECT_EQ(weighted_layers(g1)[0].name, "conv_0_1");
}

TEST(OnnxLoadGraph, DeadNodesRemovedAndUnsortedGraphScheduled) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y");
  b.node("Sigmoid", {"r"}, {"y"}, "sig");  // before its producer in the file
  b.node("Relu", {"x"}, {"r"}, "relu");
  b.node("Relu", {"x"}, {"unused"}, "dead");
  Graph g = load(b);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Relu", "Sigmoid"}));
  EXPECT_EQ(g.find_node("dead"), nullptr);
  EXPECT_EQ(g.values.count("unused"), 0u);
}

TEST(OnnxLoadGraph, DeclaredOutputShapeMismatch) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y", {kSym, 5});
  b.node("Relu", {"x"}, {"y"});
  auto msg = error_of<ModelError>([&] { load(b, "out.onnx"); });
  EXPECT_EQ(msg, "out.onnx: graph output 'y' is declared [N,5] but the graph computes [N,4]");
}

TEST(OnnxLoadGraph, MetadataCopied) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y").metadata("mean", "0.286").metadata("std", "0.353");
  b.node("Relu", {"x"}, {"y"});
  Graph g = load(b);
  EXPECT_EQ(g.metadata.at("mean"), "0.286");
  EXPECT_EQ(g.metadata.at("std"), "0.353");
  EXPECT_EQ(g.name, "test");
}

// ---- bad inputs ----

TEST(OnnxLoadErrors, MissingFileIsIoError) {
  auto msg = error_of<IoError>([] { load_onnx("/nonexistent/dir/model.onnx"); });
  EXPECT_NE(msg.find("/nonexistent/dir/model.onnx"), std::string::npos) << msg;
}

TEST(OnnxLoadErrors, TruncatedFile) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 8, 8}).initializer("w", {16, 3, 3, 3}, ramp(432)).output("y");
  b.node("Conv", {"x", "w"}, {"y"}, "conv");
  std::string bytes = b.bytes(), path = temp_path("truncated.onnx");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto msg = error_of<ModelError>([&] { load_onnx(path); });
  EXPECT_EQ(msg, path + ": not a valid ONNX model (truncated or corrupt protobuf)");
  std::filesystem::remove(path);
}

TEST(OnnxLoadErrors, GarbageIsNotAModel) {
  for (std::string garbage : {std::string("this is not an onnx file, just text\n"),
                              std::string("\xff\xff\xff\xff\x0f garbage", 14), std::string()}) {
    auto msg = error_of<ModelError>([&] { load_onnx_bytes(garbage, "junk.onnx"); });
    EXPECT_NE(msg.find("junk.onnx: not a valid ONNX model"), std::string::npos) << msg;
  }
}

// Every prefix length and single-byte corruption of a valid model: the loader either loads or
// throws one of the typed errors, nothing else (no std::out_of_range, no crash).
TEST(OnnxLoadErrors, CutsAndCorruptionsGiveTypedErrors) {
  OnnxBuilder b(11);
  b.input("x", {kSym, 3, 8, 8}).initializer("w", {4, 3, 3, 3}, ramp(108)).output("y");
  b.initializer_i64("t", {2}, {0, -1});
  b.node("Conv", {"x", "w"}, {"c"}, "conv").attr("pads", {1, 1, 1, 1});
  b.node("MaxPool", {"c"}, {"m"}, "pool").attr("kernel_shape", {2, 2}).attr("strides", {2, 2});
  b.node("Reshape", {"m", "t"}, {"r"}, "flat");
  b.node("Softmax", {"r"}, {"y"}, "softmax");
  const std::string bytes = b.bytes();
  int loaded = 0, refused = 0;
  auto attempt = [&](const std::string& data) {
    try {
      load_onnx_bytes(data, "cut.onnx");
      ++loaded;
    } catch (const Error& e) {
      ++refused;
      EXPECT_EQ(std::string(e.what()).rfind("cut.onnx: ", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "untyped exception: " << e.what();
    }
  };
  for (size_t n = 0; n < bytes.size(); n += 3) attempt(bytes.substr(0, n));
  for (size_t k = 0; k < bytes.size(); k += 5)
    for (char v : {'\0', '\x7f', '\xff'}) {
      std::string bad = bytes;
      bad[k] = v;
      attempt(bad);
    }
  EXPECT_GT(refused, 100);
  EXPECT_GT(loaded, 0);
}

TEST(OnnxLoadErrors, UnknownOpListsSupportedOps) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y");
  b.node("Foo", {"x"}, {"y"}, "mystery", "com.example");
  auto msg = error_of<UnsupportedError>([&] { load(b, "foo.onnx"); });
  EXPECT_EQ(msg.rfind("foo.onnx: node 'mystery': op 'com.example.Foo' is not supported; supported "
                      "ops: Add, AveragePool, BatchNormalization,",
                      0),
            0u)
      << msg;

  OnnxBuilder c(13);
  c.input("x", {kSym, 4}).output("y");
  c.node("Tanh", {"x"}, {"y"});
  msg = error_of<UnsupportedError>([&] { load(c, "tanh.onnx"); });
  EXPECT_NE(msg.find("node 'Tanh#0': op 'Tanh' is not supported; supported ops: Add,"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("Transpose, Unsqueeze"), std::string::npos) << msg;
}

TEST(OnnxLoadErrors, SupportedOpsSortedAndUnique) {
  const auto& ops = supported_onnx_ops();
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
  EXPECT_EQ(std::adjacent_find(ops.begin(), ops.end()), ops.end());
}

TEST(OnnxLoadErrors, MissingInitializer) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 8, 8}).output("y");
  b.node("Conv", {"x", "w"}, {"y"}, "X");
  auto msg = error_of<ModelError>([&] { load(b, "m.onnx"); });
  EXPECT_EQ(msg,
            "m.onnx: node 'X': input 'w' is neither an initializer, a graph input nor the output "
            "of an earlier node");
}

TEST(OnnxLoadErrors, CycleIsModelError) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y");
  b.node("Add", {"x", "b"}, {"a"}, "first");
  b.node("Relu", {"a"}, {"b"}, "second");
  b.node("Relu", {"a"}, {"y"});
  auto msg = error_of<ModelError>([&] { load(b); });
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
}

TEST(OnnxLoadErrors, OldOpsetIsUnsupported) {
  OnnxBuilder b(7, 3);
  b.input("x", {kSym, 4}).output("y");
  b.node("Relu", {"x"}, {"y"});
  auto msg = error_of<UnsupportedError>([&] { load(b, "old.onnx"); });
  EXPECT_EQ(msg, "old.onnx: opset 7 is not supported (supported: opsets 9 to 17)");
}

TEST(OnnxLoadErrors, CheckerFailureIsModelError) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y");
  b.node("Relu", {"x", "x"}, {"y"}, "relu");  // Relu takes one input
  auto msg = error_of<ModelError>([&] { load(b); });
  EXPECT_NE(msg.find("ONNX checker"), std::string::npos) << msg;
}

TEST(OnnxLoadErrors, NonFloatInputIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}, onnx::TensorProto::INT64).output("y", onnx::TensorProto::INT64);
  b.node("Relu", {"x"}, {"y"});
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("graph input 'x' has data type INT64"), std::string::npos) << msg;
}

// ---- read_tensor_proto ----

TEST(ReadTensorProto, FloatAndIntAndErrors) {
  std::string path = temp_path("tensor.pb");
  {
    std::ofstream out(path, std::ios::binary);
    out << float_tensor("t", {2, 2}, {1, 2, 3, 4}).SerializeAsString();
  }
  TensorData t = read_tensor_proto(path);
  EXPECT_EQ(t.dtype, DType::kFloat);
  EXPECT_EQ(t.shape, (Shape{2, 2}));
  EXPECT_EQ(t.f, (std::vector<float>{1, 2, 3, 4}));
  {
    std::ofstream out(path, std::ios::binary);
    out << int64_tensor("i", {3}, {7, -8, 9}).SerializeAsString();
  }
  EXPECT_EQ(read_tensor_proto(path).i, (std::vector<int64_t>{7, -8, 9}));
  {
    onnx::TensorProto h;
    h.set_data_type(onnx::TensorProto::FLOAT16);
    h.add_dims(3);
    for (int v : {0x3c00, 0xc000, 0x3555}) h.add_int32_data(v);  // 1, -2, ~0.33325
    std::ofstream out(path, std::ios::binary);
    out << h.SerializeAsString();
  }
  TensorData h = read_tensor_proto(path);
  EXPECT_EQ(h.f[0], 1.0f);
  EXPECT_EQ(h.f[1], -2.0f);
  EXPECT_NEAR(h.f[2], 0.33325f, 1e-5);
  std::filesystem::remove(path);
  error_of<IoError>([&] { read_tensor_proto(path); });
}

}  // namespace
}  // namespace autocompress
