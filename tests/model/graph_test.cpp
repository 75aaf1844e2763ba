// Shape inference of canonical ops (graph.cpp): broadcasting, pooling windows, validation.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "tests/model/model_test_util.hpp"

namespace autocompress {
namespace {

using ac_test::error_of;

TEST(BroadcastShapes, OnnxMultidirectionalRules) {
  EXPECT_EQ(broadcast_shapes({kBatch, 3, 4, 4}, {3, 1, 1}), (Shape{kBatch, 3, 4, 4}));
  EXPECT_EQ(broadcast_shapes({kBatch, 1}, {1, 5}), (Shape{kBatch, 5}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({kBatch, 3}, {kBatch, 3}), (Shape{kBatch, 3}));
  EXPECT_FALSE(broadcast_shapes({kBatch, 3}, {2, 3}).has_value());
  EXPECT_FALSE(broadcast_shapes({4, 3}, {2, 3}).has_value());
}

// A graph with one node `op` reading x (and optionally a second tensor y).
Graph one_node(const std::string& op, const Shape& x, const Shape& y = {}) {
  Graph g;
  g.source = "g.onnx";
  g.values["x"] = ValueInfo{"x", DType::kFloat, x};
  Node n;
  n.name = "n";
  n.op = op;
  n.inputs = {"x"};
  if (!y.empty()) {
    g.values["y"] = ValueInfo{"y", DType::kFloat, y};
    n.inputs.push_back("y");
  }
  n.outputs = {"out"};
  g.nodes.push_back(n);
  return g;
}

TEST(InferNodeShapes, PoolingWindows) {
  Graph g = one_node("AveragePool", {kBatch, 2, 7, 7});
  Node& n = g.nodes[0];
  n.attrs = {{"kernel_shape", std::vector<int64_t>{3, 3}},
             {"strides", std::vector<int64_t>{2, 2}},
             {"pads", std::vector<int64_t>{0, 0, 0, 0}},
             {"ceil_mode", int64_t{0}}};
  EXPECT_EQ(infer_node_shapes(g, n).at(0), (Shape{kBatch, 2, 3, 3}));
  n.attrs["ceil_mode"] = int64_t{1};
  EXPECT_EQ(infer_node_shapes(g, n).at(0), (Shape{kBatch, 2, 3, 3}));  // (7-3)/2 exact
  g.values["x"].shape = {kBatch, 2, 8, 8};
  EXPECT_EQ(infer_node_shapes(g, n).at(0), (Shape{kBatch, 2, 4, 4}));
  n.attrs["ceil_mode"] = int64_t{0};
  EXPECT_EQ(infer_node_shapes(g, n).at(0), (Shape{kBatch, 2, 3, 3}));
  g.values["x"].shape = {kBatch, 2, 2, 2};
  auto msg = error_of<ModelError>([&] { infer_node_shapes(g, n); });
  EXPECT_NE(msg.find("g.onnx: node 'n': window of 3"), std::string::npos) << msg;
}

TEST(InferNodeShapes, ReshapeAndFlattenKeepTheBatchApart) {
  Graph g = one_node("Reshape", {kBatch, 4, 2});
  Node& n = g.nodes[0];
  n.attrs["shape"] = std::vector<int64_t>{kBatch, 8};
  EXPECT_EQ(infer_node_shapes(g, n).at(0), (Shape{kBatch, 8}));
  n.attrs["shape"] = std::vector<int64_t>{kBatch, 9};
  error_of<ModelError>([&] { infer_node_shapes(g, n); });
  n.attrs["shape"] = std::vector<int64_t>{2, 4, 2};
  error_of<UnsupportedError>([&] { infer_node_shapes(g, n); });
  n.op = "Flatten";
  n.attrs = {{"axis", int64_t{2}}};
  error_of<UnsupportedError>([&] { infer_node_shapes(g, n); });
  g.values["x"].shape = {kBatch, 1, 6};
  EXPECT_EQ(infer_node_shapes(g, n).at(0), (Shape{kBatch, 6}));
}

TEST(InferNodeShapes, BroadcastAgainstTheBatchIsUnsupported) {
  Graph g = one_node("Add", {kBatch, 3}, {2, 3});
  auto msg = error_of<UnsupportedError>([&] { infer_node_shapes(g, g.nodes[0]); });
  EXPECT_NE(msg.find("batch"), std::string::npos) << msg;
  g.values["y"].shape = {3, kBatch, 3};
  error_of<UnsupportedError>([&] { infer_node_shapes(g, g.nodes[0]); });
}

TEST(InferShapes, UnknownOpIsModelError) {
  Graph g = one_node("Tanh", {kBatch, 3});
  error_of<ModelError>([&] { infer_shapes(g); });
}

// QuantizeLinear of x [N,3,2,2] with scale `scale_shape` and a zero point of `zp_type`.
Graph quantize_graph(const Shape& scale_shape, DType zp_type) {
  Graph g = one_node("QuantizeLinear", {kBatch, 3, 2, 2});
  const int64_t c = numel(scale_shape);
  g.initializers["s"] = TensorData{DType::kFloat, scale_shape, std::vector<float>(c, 0.5f), {}};
  g.initializers["z"] = TensorData{zp_type, scale_shape, {}, std::vector<int64_t>(c, 0)};
  if (zp_type == DType::kFloat) g.initializers["z"] = g.initializers["s"];
  for (const char* t : {"s", "z"}) g.values[t] = {t, zp_type, scale_shape};
  g.values["s"].dtype = DType::kFloat;
  g.nodes[0].inputs = {"x", "s", "z"};
  return g;
}

TEST(InferNodeShapes, QuantizeLinearTakesItsZeroPointsType) {
  Graph g = quantize_graph({3}, DType::kInt8);
  g.nodes[0].attrs["axis"] = int64_t{1};
  EXPECT_EQ(infer_node_shapes(g, g.nodes[0]).at(0), (Shape{kBatch, 3, 2, 2}));
  infer_shapes(g);
  EXPECT_EQ(g.value("out").dtype, DType::kInt8);
  g.nodes[0].inputs.pop_back();
  infer_shapes(g);
  EXPECT_EQ(g.value("out").dtype, DType::kUInt8);  // no zero point: uint8
  // DequantizeLinear reads the int8 tensor back as float32.
  Node dq{"dq", "DequantizeLinear", {"out", "s"}, {"deq"}, {{"axis", int64_t{1}}}};
  g.nodes.push_back(dq);
  infer_shapes(g);
  EXPECT_EQ(g.value("deq").dtype, DType::kFloat);
  EXPECT_EQ(g.value("deq").shape, (Shape{kBatch, 3, 2, 2}));
}

TEST(InferNodeShapes, QuantizeLinearErrorsNameTheNode) {
  Graph g = quantize_graph({}, DType::kFloat);
  auto msg = error_of<ModelError>([&] { infer_node_shapes(g, g.nodes[0]); });
  EXPECT_NE(msg.find("node 'n': zero point 'z' is float32, expected uint8 or int8"),
            std::string::npos)
      << msg;
  g = quantize_graph({}, DType::kInt32);
  error_of<ModelError>([&] { infer_node_shapes(g, g.nodes[0]); });
  g = quantize_graph({}, DType::kUInt8);
  g.initializers.erase("s");  // the scale computed at run time
  msg = error_of<UnsupportedError>([&] { infer_node_shapes(g, g.nodes[0]); });
  EXPECT_NE(msg.find("node 'n': QuantizeLinear y_scale 's' must be an initializer"),
            std::string::npos)
      << msg;
  g = quantize_graph({4}, DType::kUInt8);  // 4 scales along axis 1 of 3 channels
  msg = error_of<ModelError>([&] { infer_node_shapes(g, g.nodes[0]); });
  EXPECT_NE(msg.find("scale 's' has 4 values, but axis 1 of [N,3,2,2] has 3"), std::string::npos)
      << msg;
  g = quantize_graph({3}, DType::kUInt8);
  g.nodes[0].attrs["axis"] = int64_t{0};  // one scale per batch element
  error_of<UnsupportedError>([&] { infer_node_shapes(g, g.nodes[0]); });
  g = quantize_graph({}, DType::kUInt8);
  g.initializers["s"].f = {0.0f};
  msg = error_of<ModelError>([&] { infer_node_shapes(g, g.nodes[0]); });
  EXPECT_NE(msg.find("non-zero"), std::string::npos) << msg;
  // DequantizeLinear of a float tensor, and with a zero point of another type than its input.
  g = quantize_graph({}, DType::kUInt8);
  g.nodes[0].op = "DequantizeLinear";
  msg = error_of<ModelError>([&] { infer_node_shapes(g, g.nodes[0]); });
  EXPECT_NE(msg.find("input 'x' must be uint8, int8 or int32, got float32"), std::string::npos)
      << msg;
  g.values["x"].dtype = DType::kInt8;
  msg = error_of<ModelError>([&] { infer_node_shapes(g, g.nodes[0]); });
  EXPECT_NE(msg.find("zero point 'z' is uint8, expected the input's type int8"), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace autocompress
