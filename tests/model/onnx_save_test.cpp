// save_onnx / to_onnx_bytes: valid ONNX (checker), opset-13 spellings, exact round trips.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"
#include "tests/model/model_test_util.hpp"

namespace autocompress {
namespace {

using namespace ac_test;
using Ints = std::vector<int64_t>;

// A model touching every canonical op (opset 11, so Softmax keeps its coerce-to-2-D meaning).
OnnxBuilder every_op_model() {
  OnnxBuilder b(11);
  b.input("x", {kSym, 3, 8, 8}).output("y", {kSym, 10}).output("z", {kSym, 8}).output("c6");
  b.metadata("preprocess", "x/255");
  b.initializer("w1", {8, 3, 3, 3}, ramp(216, -1.0f, 0.01f)).initializer("b1", {8}, ramp(8));
  for (const char* p : {"s", "b", "m"}) b.initializer(p, {8}, ramp(8, 0.2f));
  b.initializer("v", {8}, ramp(8, 1.0f));
  b.initializer("lo", {}, {0.0f}).initializer("hi", {}, {6.0f});
  b.initializer_i64("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1}).initializer("pv", {}, {0.5f});
  b.initializer_i64("target", {2}, {0, -1});
  b.initializer("wfc", {10, 80}, ramp(800, -0.4f, 0.001f)).initializer("bfc", {10}, ramp(10));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1").attr("pads", {1, 1, 1, 1});
  b.node("BatchNormalization", {"c1", "s", "b", "m", "v"}, {"bn1"}, "bn1").attr("epsilon", 1e-3);
  b.node("Clip", {"bn1", "lo", "hi"}, {"r1"}, "relu6");
  b.node("Clip", {"bn1", "", "hi"}, {"c6"}, "clip_max_only");
  b.node("Pad", {"r1", "pads", "pv"}, {"p1"}, "pad");
  b.node("MaxPool", {"p1"}, {"m1"}, "maxpool").attr("kernel_shape", {2, 2}).attr("strides", {2, 2});
  b.node("AveragePool", {"m1"}, {"a1"}, "avgpool")
      .attr("kernel_shape", {3, 3})
      .attr("pads", {1, 1, 1, 1})
      .attr("count_include_pad", 1);
  b.node("Add", {"a1", "m1"}, {"s1"}, "residual");
  b.node("LeakyRelu", {"s1"}, {"l1"}, "leaky").attr("alpha", 0.2);
  b.node("HardSigmoid", {"s1"}, {"h1"}, "hsig");
  b.node("Mul", {"l1", "h1"}, {"mu"}, "gate");
  b.node("Transpose", {"mu"}, {"t1"}, "transpose").attr("perm", {0, 1, 3, 2});
  b.node("Concat", {"t1", "mu"}, {"cat"}, "concat").attr("axis", 1);
  b.node("Softmax", {"cat"}, {"sm"}, "softmax");  // opset 11: over C*H*W
  b.node("ReduceMean", {"sm"}, {"rm"}, "mean").attr("axes", {2});
  b.node("Reshape", {"rm", "target"}, {"rs"}, "flatten_view");
  b.node("Gemm", {"rs", "wfc", "bfc"}, {"g1"}, "fc").attr("transB", 1);
  b.node("Sigmoid", {"g1"}, {"y"}, "sigmoid");
  b.node("GlobalAveragePool", {"s1"}, {"gp"}, "gap");
  b.node("Flatten", {"gp"}, {"z"}, "flatten");
  return b;
}

TEST(OnnxSave, EveryOpRoundTrips) {
  Graph g = load(every_op_model());
  ASSERT_EQ(g.nodes.size(), 20u);
  const Node* sm = g.find_node("softmax");
  ASSERT_NE(sm, nullptr);
  EXPECT_EQ(sm->i("coerce_2d"), 1);
  std::string bytes = to_onnx_bytes(g);
  Graph h = load_onnx_bytes(bytes, "saved.onnx");
  expect_same_graph(g, h);
  // and once more: saving is deterministic
  EXPECT_EQ(to_onnx_bytes(h), bytes);
}

TEST(OnnxSave, WrittenModelPassesCheckerInOpset13Spelling) {
  Graph g = load(every_op_model());
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(to_onnx_bytes(g)));
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  EXPECT_EQ(m.ir_version(), 8);
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).version(), 13);
  const auto& gp = m.graph();
  EXPECT_EQ(gp.input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_EQ(gp.output(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  ASSERT_EQ(m.metadata_props_size(), 1);
  EXPECT_EQ(m.metadata_props(0).key(), "preprocess");
  std::map<std::string, const onnx::NodeProto*> by_name;
  std::vector<std::string> ops;
  for (const auto& n : gp.node()) {
    by_name[n.name()] = &n;
    ops.push_back(n.op_type());
  }
  EXPECT_EQ(by_name.at("relu6")->input_size(), 3);  // min/max as inputs
  EXPECT_EQ(by_name.at("relu6")->attribute_size(), 0);
  EXPECT_EQ(by_name.at("clip_max_only")->input(1), "");  // absent min
  EXPECT_EQ(by_name.at("pad")->input_size(), 3);         // pads, constant_value
  EXPECT_EQ(by_name.at("fc")->attribute(0).name(), "transB");
  // Softmax over C*H*W in opset 13: Reshape -> Softmax(last axis) -> Reshape.
  const auto* s = by_name.at("softmax");
  EXPECT_EQ(s->attribute(0).i(), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Reshape"), 3);
  // Reshape targets copy the batch with 0.
  for (const auto& t : gp.initializer())
    if (t.name() == "flatten_view_shape") {
      ASSERT_EQ(t.dims(0), 2);
      int64_t first;
      std::memcpy(&first, t.raw_data().data(), sizeof first);
      EXPECT_EQ(first, 0);
    }
  // every intermediate tensor has a value_info
  EXPECT_GE(gp.value_info_size(), 15);
}

TEST(OnnxSave, HardSwishNeedsOpset14AndFileRoundTrip) {
  OnnxBuilder b(14);
  b.input("x", {kSym, 4}).output("y");
  b.node("HardSwish", {"x"}, {"y"}, "hs");
  Graph g = load(b);
  std::string path = (std::filesystem::temp_directory_path() / "ac_model_test_hs.onnx").string();
  save_onnx(g, path);
  Graph h = load_onnx(path);
  expect_same_graph(g, h);
  EXPECT_EQ(h.opset, 14);
  EXPECT_EQ(h.source, path);
  std::filesystem::remove(path);
}

TEST(OnnxSave, UnwritablePathIsIoError) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y");
  b.node("Relu", {"x"}, {"y"});
  Graph g = load(b);
  auto msg = error_of<IoError>([&] { save_onnx(g, "/nonexistent/dir/out.onnx"); });
  EXPECT_NE(msg.find("/nonexistent/dir/out.onnx"), std::string::npos) << msg;
}

TEST(OnnxSave, HandBuiltGraphAfterTransformation) {
  // What a compressor does: edit weights, re-infer shapes, save. Conv pruned from 4 to 2 channels.
  OnnxBuilder b(13);
  b.input("x", {kSym, 3, 6, 6}).initializer("w", {4, 3, 3, 3}, ramp(108)).output("y");
  b.initializer("w2", {2, 4, 1, 1}, ramp(8));
  b.node("Conv", {"x", "w"}, {"h"}, "conv1");
  b.node("Conv", {"h", "w2"}, {"y"}, "conv2");
  Graph g = load(b);
  TensorData& w = g.initializers.at("w");
  w.shape = {2, 3, 3, 3};
  w.f.resize(54);
  g.values.at("w").shape = w.shape;
  TensorData& w2 = g.initializers.at("w2");
  w2.shape = {2, 2, 1, 1};
  w2.f.resize(4);
  g.values.at("w2").shape = w2.shape;
  infer_shapes(g);
  EXPECT_EQ(g.value("h").shape, (Shape{kBatch, 2, 4, 4}));
  Graph h = load_onnx_bytes(to_onnx_bytes(g), "pruned.onnx");
  expect_same_graph(g, h);
  EXPECT_EQ(weighted_layers(h)[0].macs, 2 * 27 * 16);
}

TEST(OnnxSave, CheckerRejectionIsModelError) {
  Graph g;
  g.source = "broken";
  g.inputs = {"x"};
  g.outputs = {"y"};
  g.values["x"] = ValueInfo{"x", DType::kFloat, {kBatch, 4}};
  g.values["y"] = ValueInfo{"y", DType::kFloat, {kBatch, 4}};
  Node n;
  n.name = "relu";
  n.op = "Relu";
  n.inputs = {"x", "x"};  // wrong arity
  n.outputs = {"y"};
  g.nodes.push_back(n);
  auto msg = error_of<ModelError>([&] { to_onnx_bytes(g); });
  EXPECT_NE(msg.find("fails the checker"), std::string::npos) << msg;
}

}  // namespace
}  // namespace autocompress
