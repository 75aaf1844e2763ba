// The reference executor against hand-computed values, one small graph per canonical op.
#include "evaluator/reference.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace autocompress {
namespace {

HostTensor T(Shape shape, std::vector<float> data) { return {std::move(shape), std::move(data)}; }

// Builds and runs a one-node graph (XNNPACK's tester idiom). input() adds a graph input whose
// first dimension is the batch; weight() an initializer; absent() an empty optional slot. The
// node's inputs are in the order they were added.
class OneNode {
 public:
  explicit OneNode(std::string op) { node_.op = std::move(op), node_.name = "node"; }

  OneNode& input(HostTensor t, DType type = DType::kFloat) {
    const std::string name = "in" + std::to_string(node_.inputs.size());
    Shape declared = t.shape;
    declared[0] = kBatch;
    g_.inputs.push_back(name);
    g_.values[name] = {name, type, declared};
    node_.inputs.push_back(name);
    inputs_.push_back(std::move(t));
    return *this;
  }
  OneNode& weight(HostTensor t) {
    const std::string name = "w" + std::to_string(node_.inputs.size());
    g_.values[name] = {name, DType::kFloat, t.shape};
    g_.initializers[name] = TensorData{DType::kFloat, t.shape, t.data, {}};
    node_.inputs.push_back(name);
    return *this;
  }
  // An integer initializer (a zero point, a quantized weight).
  OneNode& weight(DType type, Shape shape, std::vector<int64_t> values) {
    const std::string name = "w" + std::to_string(node_.inputs.size());
    g_.values[name] = {name, type, shape};
    g_.initializers[name] = TensorData{type, shape, {}, std::move(values)};
    node_.inputs.push_back(name);
    return *this;
  }
  OneNode& absent() {
    node_.inputs.push_back("");
    return *this;
  }
  OneNode& attr(const std::string& key, AttrValue v) {
    node_.attrs[key] = std::move(v);
    return *this;
  }
  // Declares the output shape in the graph, which the executor then checks.
  OneNode& declare(Shape shape) {
    g_.values["y"] = {"y", DType::kFloat, std::move(shape)};
    return *this;
  }
  Graph graph() const {
    Graph g = g_;
    Node n = node_;
    n.outputs = {"y"};
    g.nodes = {n};
    g.outputs = {"y"};
    return g;
  }
  HostTensor run() const { return make_reference_executor(graph())->run(inputs_).at(0); }

 private:
  Graph g_;
  Node node_;
  std::vector<HostTensor> inputs_;
};

void expect_tensor(const HostTensor& got, const Shape& shape, const std::vector<float>& want) {
  ASSERT_EQ(shape_str(got.shape), shape_str(shape));
  ASSERT_EQ(got.data.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k)
    EXPECT_NEAR(got.data[k], want[k], 1e-5 * std::max(1.0f, std::fabs(want[k]))) << "at " << k;
}

const HostTensor k4x4 = T({1, 1, 4, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});

// ---- Conv -------------------------------------------------------------------------------------

TEST(ReferenceConv, PaddingStrideAndBias) {
  const auto y = OneNode("Conv")
                     .input(k4x4)
                     .weight(T({1, 1, 3, 3}, std::vector<float>(9, 1.0f)))
                     .weight(T({1}, {1}))
                     .attr("strides", std::vector<int64_t>{2, 2})
                     .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                     .run();
  // Windows: rows {0,1} or {1,2,3} x cols {0,1} or {1,2,3}, plus the bias.
  expect_tensor(y, {1, 1, 2, 2}, {10 + 1, 24 + 1, 51 + 1, 90 + 1});
}

TEST(ReferenceConv, AsymmetricPadsAreTopLeftBottomRight) {
  const auto y = OneNode("Conv")
                     .input(T({1, 1, 2, 2}, {1, 2, 3, 4}))
                     .weight(T({1, 1, 1, 1}, {1}))
                     .attr("pads", std::vector<int64_t>{1, 0, 0, 2})
                     .run();
  expect_tensor(y, {1, 1, 3, 4}, {0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0});
}

TEST(ReferenceConv, GroupedConvSeesOnlyItsChannels) {
  const auto y = OneNode("Conv")
                     .input(T({1, 4, 1, 1}, {1, 2, 3, 4}))
                     .weight(T({2, 2, 1, 1}, {1, 10, 100, 1000}))
                     .attr("group", int64_t{2})
                     .run();
  expect_tensor(y, {1, 2, 1, 1}, {1 * 1 + 2 * 10, 3 * 100 + 4 * 1000});
}

TEST(ReferenceConv, DepthwiseWithMultiplierTwo) {
  // Outputs 0,1 read channel 0; outputs 2,3 read channel 1.
  const auto y = OneNode("Conv")
                     .input(T({1, 2, 1, 3}, {1, 2, 3, 4, 5, 6}))
                     .weight(T({4, 1, 1, 2}, {1, 0, 0, 1, 1, 1, 2, -1}))
                     .absent()
                     .attr("group", int64_t{2})
                     .run();
  expect_tensor(y, {1, 4, 1, 2}, {1, 2, 2, 3, 9, 11, 3, 4});
}

TEST(ReferenceConv, Dilation) {
  const auto y = OneNode("Conv")
                     .input(T({1, 1, 1, 5}, {1, 2, 3, 4, 5}))
                     .weight(T({1, 1, 1, 2}, {1, 1}))
                     .attr("dilations", std::vector<int64_t>{1, 2})
                     .run();
  expect_tensor(y, {1, 1, 1, 3}, {1 + 3, 2 + 4, 3 + 5});
}

TEST(ReferenceConv, BatchOfTwo) {
  const auto y =
      OneNode("Conv").input(T({2, 1, 1, 2}, {1, 2, 3, 4})).weight(T({1, 1, 1, 2}, {1, -1})).run();
  expect_tensor(y, {2, 1, 1, 1}, {-1, -1});
}

// ---- Gemm, BatchNormalization -----------------------------------------------------------------

TEST(ReferenceGemm, XTimesWTransposedPlusB) {
  const auto y = OneNode("Gemm")
                     .input(T({2, 3}, {1, 2, 3, 4, 5, 6}))
                     .weight(T({2, 3}, {1, 0, -1, 2, 1, 0}))
                     .weight(T({2}, {10, 20}))
                     .run();
  expect_tensor(y, {2, 2}, {1 - 3 + 10, 2 + 2 + 20, 4 - 6 + 10, 8 + 5 + 20});
}

TEST(ReferenceBatchNorm, PerChannelAffine) {
  const auto y = OneNode("BatchNormalization")
                     .input(T({1, 2, 1, 2}, {1, 2, 3, 4}))
                     .weight(T({2}, {2, 0.5f}))  // scale
                     .weight(T({2}, {1, -1}))    // B
                     .weight(T({2}, {1, 3}))     // mean
                     .weight(T({2}, {3, 3}))     // var: sqrt(3 + 1) = 2
                     .attr("epsilon", 1.0f)
                     .run();
  expect_tensor(y, {1, 2, 1, 2}, {1, 2, -1, -0.75f});
}

// ---- activations ------------------------------------------------------------------------------

const HostTensor kRamp = T({1, 7}, {-4, -2, -0.5f, 0, 0.5f, 3, 8});

HostTensor activate(const std::string& op, std::vector<std::pair<std::string, float>> attrs = {}) {
  OneNode n(op);
  n.input(kRamp);
  for (auto& [k, v] : attrs) n.attr(k, v);
  return n.run();
}

TEST(ReferenceActivation, Relu) {
  expect_tensor(activate("Relu"), {1, 7}, {0, 0, 0, 0, 0.5f, 3, 8});
}

TEST(ReferenceActivation, ClipWithMinAndMax) {
  expect_tensor(activate("Clip", {{"min", -1}, {"max", 2}}), {1, 7},
                {-1, -1, -0.5f, 0, 0.5f, 2, 2});
}

TEST(ReferenceActivation, ClipWithoutBoundsIsIdentity) {
  expect_tensor(activate("Clip"), {1, 7}, kRamp.data);
}

TEST(ReferenceActivation, LeakyRelu) {
  expect_tensor(activate("LeakyRelu", {{"alpha", 0.1f}}), {1, 7},
                {-0.4f, -0.2f, -0.05f, 0, 0.5f, 3, 8});
}

TEST(ReferenceActivation, Sigmoid) {
  expect_tensor(
      activate("Sigmoid"), {1, 7},
      {0.01798621f, 0.11920292f, 0.37754067f, 0.5f, 0.62245933f, 0.95257413f, 0.99966465f});
}

TEST(ReferenceActivation, HardSigmoid) {
  expect_tensor(activate("HardSigmoid", {{"alpha", 0.2f}, {"beta", 0.5f}}), {1, 7},
                {0, 0.1f, 0.4f, 0.5f, 0.6f, 1, 1});
}

TEST(ReferenceActivation, HardSwish) {
  // x * max(0, min(1, x/6 + 0.5))
  expect_tensor(
      activate("HardSwish"), {1, 7},
      {0, -2 * (0.5f - 2.0f / 6), -0.5f * (0.5f - 0.5f / 6), 0, 0.5f * (0.5f + 0.5f / 6), 3, 8});
}

// ---- pooling ----------------------------------------------------------------------------------

OneNode pool(const std::string& op, HostTensor x, std::vector<int64_t> kernel,
             std::vector<int64_t> strides, std::vector<int64_t> pads) {
  OneNode n(op);
  n.input(std::move(x))
      .attr("kernel_shape", std::move(kernel))
      .attr("strides", std::move(strides))
      .attr("pads", std::move(pads));
  return n;
}

TEST(ReferenceMaxPool, TwoByTwoStrideTwo) {
  expect_tensor(pool("MaxPool", k4x4, {2, 2}, {2, 2}, {0, 0, 0, 0}).run(), {1, 1, 2, 2},
                {5, 7, 13, 15});
}

TEST(ReferenceMaxPool, PaddingIsNeverSelected) {
  const auto y = pool("MaxPool", T({1, 1, 2, 2}, {-1, -2, -3, -4}), {2, 2}, {1, 1}, {1, 1, 1, 1});
  expect_tensor(y.run(), {1, 1, 3, 3}, {-1, -1, -2, -1, -1, -2, -3, -3, -4});
}

TEST(ReferenceMaxPool, CeilModeKeepsPartialLastWindow) {
  auto n = pool("MaxPool", k4x4, {3, 3}, {2, 2}, {0, 0, 0, 0});
  expect_tensor(n.attr("ceil_mode", int64_t{1}).run(), {1, 1, 2, 2}, {10, 11, 14, 15});
}

TEST(ReferenceMaxPool, CeilModeDropsWindowStartingInEndPadding) {
  // ceil((4 + 1 - 1) / 2) + 1 = 3 windows, but the third would start in the end padding.
  auto n = pool("MaxPool", k4x4, {1, 1}, {2, 2}, {0, 0, 1, 1});
  expect_tensor(n.attr("ceil_mode", int64_t{1}).run(), {1, 1, 2, 2}, {0, 2, 8, 10});
}

TEST(ReferenceMaxPool, Dilation) {
  auto n = pool("MaxPool", T({1, 1, 1, 5}, {5, 1, 2, 9, 3}), {1, 2}, {1, 1}, {0, 0, 0, 0});
  expect_tensor(n.attr("dilations", std::vector<int64_t>{1, 2}).run(), {1, 1, 1, 3}, {5, 9, 3});
}

TEST(ReferenceAveragePool, PadsExcludedFromDivisorByDefault) {
  auto n = pool("AveragePool", T({1, 1, 2, 2}, {1, 2, 3, 4}), {2, 2}, {1, 1}, {1, 1, 1, 1});
  expect_tensor(n.run(), {1, 1, 3, 3}, {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
}

TEST(ReferenceAveragePool, CountIncludePad) {
  auto n = pool("AveragePool", T({1, 1, 2, 2}, {1, 2, 3, 4}), {2, 2}, {1, 1}, {1, 1, 1, 1});
  expect_tensor(n.attr("count_include_pad", int64_t{1}).run(), {1, 1, 3, 3},
                {0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1});
}

TEST(ReferenceAveragePool, CeilModeAveragesPartialWindow) {
  auto n = pool("AveragePool", T({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), {2, 2}, {2, 2},
                {0, 0, 0, 0});
  expect_tensor(n.attr("ceil_mode", int64_t{1}).run(), {1, 1, 2, 2}, {3, 4.5f, 7.5f, 9});
}

TEST(ReferenceAveragePool, CeilModeClipsWindowPastPaddedEnd) {
  // Windows start at -1, 1, 3 over [1,2,3,4] padded by one each side; the last covers 3 (= 4),
  // 4 (pad) and 5 (past the padded end, not counted even with count_include_pad).
  auto n = pool("AveragePool", T({1, 1, 1, 4}, {1, 2, 3, 4}), {1, 3}, {1, 2}, {0, 1, 0, 1});
  n.attr("ceil_mode", int64_t{1});
  expect_tensor(n.run(), {1, 1, 1, 3}, {1.5f, 3, 4});
  expect_tensor(n.attr("count_include_pad", int64_t{1}).run(), {1, 1, 1, 3}, {1, 3, 2});
}

TEST(ReferenceGlobalAveragePool, MeanPerChannel) {
  const auto y = OneNode("GlobalAveragePool").input(T({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
  expect_tensor(y.run(), {1, 2, 1, 1}, {2.5f, 6.5f});
}

// ---- ReduceMean, Pad --------------------------------------------------------------------------

const HostTensor k2x3 = T({2, 3}, {1, 2, 3, 4, 5, 6});

TEST(ReferenceReduceMean, AxesAndKeepdims) {
  auto rm = [](std::vector<int64_t> axes, int64_t keep) {
    OneNode n("ReduceMean");
    n.input(k2x3).attr("keepdims", keep);
    if (!axes.empty()) n.attr("axes", axes);
    return n.run();
  };
  expect_tensor(rm({1}, 1), {2, 1}, {2, 5});
  expect_tensor(rm({1}, 0), {2}, {2, 5});
  expect_tensor(rm({0}, 1), {1, 3}, {2.5f, 3.5f, 4.5f});
  expect_tensor(rm({}, 1), {1, 1}, {3.5f});
  expect_tensor(rm({0, 1}, 0), {}, {3.5f});
}

TEST(ReferenceReduceMean, SpatialAxesOfNchw) {
  auto n = OneNode("ReduceMean").input(T({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
  n.attr("axes", std::vector<int64_t>{2, 3}).attr("keepdims", int64_t{1});
  expect_tensor(n.run(), {1, 2, 1, 1}, {2.5f, 6.5f});
}

TEST(ReferencePad, ConstantBeginsThenEnds) {
  auto n = OneNode("Pad").input(T({1, 1, 2, 2}, {1, 2, 3, 4}));
  n.attr("pads", std::vector<int64_t>{0, 0, 1, 0, 0, 0, 0, 2}).attr("value", 9.0f);
  expect_tensor(n.run(), {1, 1, 3, 4}, {9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9});
}

TEST(ReferencePad, NegativePadsCrop) {
  auto n = OneNode("Pad").input(k2x3).attr("pads", std::vector<int64_t>{0, -1, 0, 0});
  expect_tensor(n.run(), {2, 2}, {2, 3, 5, 6});
}

// ---- broadcasting -----------------------------------------------------------------------------

TEST(ReferenceBroadcast, ChannelwiseMulOfNchw) {
  const auto y = OneNode("Mul")
                     .input(T({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8}))
                     .weight(T({1, 2, 1, 1}, {10, 100}))
                     .run();
  expect_tensor(y, {2, 2, 1, 2}, {10, 20, 300, 400, 50, 60, 700, 800});
}

TEST(ReferenceBroadcast, AddStretchesBothSides) {
  const auto y = OneNode("Add")
                     .input(T({2, 2, 1}, {1, 2, 3, 4}))
                     .input(T({2, 1, 3}, {10, 20, 30, 40, 50, 60}))
                     .run();
  expect_tensor(y, {2, 2, 3}, {11, 21, 31, 12, 22, 32, 43, 53, 63, 44, 54, 64});
}

TEST(ReferenceBroadcast, AddOfLowerRankWeight) {
  const auto y = OneNode("Add").input(k2x3).weight(T({3}, {10, 20, 30})).run();
  expect_tensor(y, {2, 3}, {11, 22, 33, 14, 25, 36});
}

TEST(ReferenceBroadcast, SubWithWeightFirst) {
  const auto y = OneNode("Sub").weight(T({3}, {10, 10, 10})).input(T({1, 3}, {2, 4, 6})).run();
  expect_tensor(y, {1, 3}, {8, 6, 4});
}

TEST(ReferenceBroadcast, DivByScalar) {
  const auto y = OneNode("Div").input(T({1, 3}, {2, 4, 6})).weight(T({}, {2})).run();
  expect_tensor(y, {1, 3}, {1, 2, 3});
}

// ---- data movement ----------------------------------------------------------------------------

TEST(ReferenceConcat, ChannelAxis) {
  const auto y = OneNode("Concat")
                     .input(T({1, 2, 1, 1}, {1, 2}))
                     .input(T({1, 1, 1, 1}, {3}))
                     .attr("axis", int64_t{1})
                     .run();
  expect_tensor(y, {1, 3, 1, 1}, {1, 2, 3});
}

TEST(ReferenceConcat, LastAxisWithBatch) {
  const auto y = OneNode("Concat")
                     .input(T({2, 1, 1, 2}, {1, 2, 3, 4}))
                     .input(T({2, 1, 1, 1}, {5, 6}))
                     .attr("axis", int64_t{3})
                     .run();
  expect_tensor(y, {2, 1, 1, 3}, {1, 2, 5, 3, 4, 6});
}

TEST(ReferenceSoftmax, SingleAxisSemantics) {
  auto n = OneNode("Softmax").input(T({1, 2, 2}, {0, 1, 2, 3}));
  // Over the last axis: each row (0,1) / (2,3) gives 1/(1+e), e/(1+e).
  expect_tensor(n.attr("axis", int64_t{2}).run(), {1, 2, 2},
                {0.26894142f, 0.73105858f, 0.26894142f, 0.73105858f});
  // Over axis 1: pairs (0,2) and (1,3) give 1/(1+e^2), e^2/(1+e^2).
  expect_tensor(n.attr("axis", int64_t{1}).run(), {1, 2, 2},
                {0.11920292f, 0.11920292f, 0.88079708f, 0.88079708f});
}

TEST(ReferenceSoftmax, Coerce2dTakesTheWholeTrailingBlock) {
  auto n = OneNode("Softmax").input(T({1, 2, 2}, {0, 1, 2, 3}));
  n.attr("axis", int64_t{1}).attr("coerce_2d", int64_t{1});
  expect_tensor(n.run(), {1, 2, 2}, {0.0320586f, 0.08714432f, 0.23688282f, 0.64391426f});
}

TEST(ReferenceReshape, BatchDimensionFollowsTheInput) {
  auto n = OneNode("Reshape").input(T({2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  n.attr("shape", std::vector<int64_t>{kBatch, 6}).declare({kBatch, 6});
  expect_tensor(n.run(), {2, 6}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});

  auto three = OneNode("Reshape").input(T({3, 1, 2}, {1, 2, 3, 4, 5, 6}));
  three.attr("shape", std::vector<int64_t>{2, kBatch});
  expect_tensor(three.run(), {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST(ReferenceFlatten, Axis) {
  auto n = OneNode("Flatten").input(T({2, 1, 2, 1}, {1, 2, 3, 4}));
  expect_tensor(n.attr("axis", int64_t{1}).run(), {2, 2}, {1, 2, 3, 4});
  expect_tensor(n.attr("axis", int64_t{0}).run(), {1, 4}, {1, 2, 3, 4});
  expect_tensor(n.attr("axis", int64_t{3}).run(), {4, 1}, {1, 2, 3, 4});
}

TEST(ReferenceTranspose, NchwToNhwc) {
  auto n = OneNode("Transpose").input(T({1, 2, 1, 3}, {1, 2, 3, 4, 5, 6}));
  n.attr("perm", std::vector<int64_t>{0, 2, 3, 1});
  expect_tensor(n.run(), {1, 1, 3, 2}, {1, 4, 2, 5, 3, 6});
}

// ---- QuantizeLinear / DequantizeLinear ----------------------------------------------------------

TEST(ReferenceQuantizeLinear, RoundsHalfToEven) {
  auto n = OneNode("QuantizeLinear")
               .input(T({1, 8}, {0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, 2.4f}));
  n.weight(T({}, {1.0f})).weight(DType::kInt8, {}, {0});
  expect_tensor(n.run(), {1, 8}, {0, 2, 2, 4, 0, -2, -2, 2});
}

TEST(ReferenceQuantizeLinear, DividesByTheScaleAndAddsTheZeroPoint) {
  auto n = OneNode("QuantizeLinear").input(T({1, 4}, {0, 2, 3, -254}));
  n.weight(T({}, {2.0f})).weight(DType::kUInt8, {}, {128});
  expect_tensor(n.run(), {1, 4}, {128, 129, 130, 1});  // 3 / 2 = 1.5 rounds to 2
}

TEST(ReferenceQuantizeLinear, SaturatesToUint8AndInt8) {
  const HostTensor x = T({1, 4}, {-1000, -129.4f, 300, 1000});
  auto u8 = OneNode("QuantizeLinear").input(x).weight(T({}, {1.0f}));
  u8.weight(DType::kUInt8, {}, {10});
  expect_tensor(u8.run(), {1, 4}, {0, 0, 255, 255});
  auto s8 = OneNode("QuantizeLinear").input(x).weight(T({}, {1.0f}));
  s8.weight(DType::kInt8, {}, {-1});
  expect_tensor(s8.run(), {1, 4}, {-128, -128, 127, 127});
  // Without a zero point the output is uint8 with zero point 0.
  auto none = OneNode("QuantizeLinear").input(x).weight(T({}, {1.0f}));
  expect_tensor(none.run(), {1, 4}, {0, 0, 255, 255});
}

TEST(ReferenceQuantizeLinear, PerAxisScalesAndZeroPoints) {
  auto n = OneNode("QuantizeLinear").input(T({1, 2, 2}, {1, 3, 10, -20}));
  n.weight(T({2}, {2.0f, 10.0f})).weight(DType::kUInt8, {2}, {0, 100}).attr("axis", int64_t{1});
  expect_tensor(n.run(), {1, 2, 2}, {0, 2, 101, 98});  // 0.5 -> 0, 1.5 -> 2
}

TEST(ReferenceDequantizeLinear, SubtractsTheZeroPointAndScales) {
  auto n = OneNode("DequantizeLinear").input(T({1, 4}, {0, 3, 128, 255}), DType::kUInt8);
  n.weight(T({}, {2.0f})).weight(DType::kUInt8, {}, {128});
  expect_tensor(n.run(), {1, 4}, {-256, -250, 0, 254});
}

TEST(ReferenceDequantizeLinear, PerAxisOnAnInt8Weight) {
  // W = DQ(w_q) per output channel (axis 0), the form of int8 weights in the IR.
  auto n = OneNode("Gemm").input(T({1, 2}, {1, 1}));
  Graph g = n.graph();
  g.initializers["wq"] = TensorData{DType::kInt8, {2, 2}, {}, {-128, 127, 3, -4}};
  g.initializers["ws"] = TensorData{DType::kFloat, {2}, {0.5f, 0.25f}, {}};
  g.initializers["wz"] = TensorData{DType::kInt8, {2}, {}, {0, 0}};
  for (const char* t : {"wq", "ws", "wz"})
    g.values[t] = {t, g.initializers[t].dtype, g.initializers[t].shape};
  Node dq{"dq", "DequantizeLinear", {"wq", "ws", "wz"}, {"w"}, {{"axis", int64_t{0}}}};
  g.nodes.front().inputs.push_back("w");
  g.nodes.insert(g.nodes.begin(), dq);
  const auto y = make_reference_executor(g)->run({T({1, 2}, {1, 1})}).at(0);
  expect_tensor(y, {1, 2}, {-0.5f, -0.25f});  // (-128 + 127) * 0.5, (3 - 4) * 0.25
}

TEST(ReferenceDequantizeLinear, QuantizeThenDequantizeIsTheGridPoint) {
  auto q = OneNode("QuantizeLinear").input(T({1, 3}, {0.26f, -0.74f, 9.0f}));
  q.weight(T({}, {0.5f})).weight(DType::kInt8, {}, {0});
  const HostTensor xq = q.run();
  auto dq = OneNode("DequantizeLinear").input(xq, DType::kInt8);
  dq.weight(T({}, {0.5f})).weight(DType::kInt8, {}, {0});
  expect_tensor(dq.run(), {1, 3}, {0.5f, -0.5f, 9.0f});
}

// ---- bf16 layers --------------------------------------------------------------------------------

TEST(ReferenceBf16, LayerRoundsInputAndWeightsToBfloat16) {
  // bf16 keeps 8 significant bits: 1 + 2^-9 rounds to 1, 1 + 2^-8 is a tie and goes to the even
  // 1, 1 + 3 * 2^-8 is a tie and goes to the even 1 + 2^-6. The bias stays float32.
  const float a = 1 + std::ldexp(1.0f, -9), b = 1 + std::ldexp(1.0f, -8),
              c = 1 + 3 * std::ldexp(1.0f, -8);
  auto n = OneNode("Gemm").input(T({3, 1}, {a, b, c})).weight(T({1, 1}, {a}));
  n.weight(T({1}, {std::ldexp(1.0f, -12)}));
  expect_tensor(n.run(), {3, 1},
                {a * a + std::ldexp(1.0f, -12), b * a + std::ldexp(1.0f, -12),
                 c * a + std::ldexp(1.0f, -12)});
  n.attr("precision", std::string("bf16"));
  const HostTensor y = n.run();
  const float bias = std::ldexp(1.0f, -12);
  EXPECT_EQ(y.data[0], 1.0f + bias);
  EXPECT_EQ(y.data[1], 1.0f + bias);
  EXPECT_EQ(y.data[2], 1.0f + std::ldexp(1.0f, -6) + bias);
}

TEST(ReferenceBf16, RoundToBf16TiesToEvenAndKeepsSpecials) {
  EXPECT_EQ(round_to_bf16(1 + std::ldexp(1.0f, -8)), 1.0f);
  EXPECT_EQ(round_to_bf16(1 + 3 * std::ldexp(1.0f, -8)), 1 + std::ldexp(1.0f, -6));
  EXPECT_EQ(round_to_bf16(-(1 + 3 * std::ldexp(1.0f, -8))), -(1 + std::ldexp(1.0f, -6)));
  EXPECT_EQ(round_to_bf16(std::numeric_limits<float>::infinity()),
            std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(round_to_bf16(std::numeric_limits<float>::quiet_NaN())));
}

TEST(ReferenceBf16, UnknownPrecisionIsAModelError) {
  auto n = OneNode("Gemm").input(T({1, 1}, {1})).weight(T({1, 1}, {1}));
  n.attr("precision", std::string("fp8"));
  EXPECT_THROW(make_reference_executor(n.graph()), ModelError);
}

// ---- errors -----------------------------------------------------------------------------------

TEST(ReferenceErrors, UnknownOpNamesNodeAndOp) {
  try {
    make_reference_executor(OneNode("Frobnicate").input(k2x3).graph());
    FAIL() << "expected UnsupportedError";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'node'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Frobnicate"), std::string::npos) << e.what();
  }
}

TEST(ReferenceErrors, DeclaredShapeDisagreeingWithComputedShapeIsAModelError) {
  auto n = OneNode("Relu").input(k2x3).declare({kBatch, 4});
  EXPECT_THROW(n.run(), ModelError);
}

// ---- check_inputs -----------------------------------------------------------------------------

Graph one_input_graph(Shape shape) {
  Graph g;
  g.inputs = {"input"};
  g.values["input"] = {"input", DType::kFloat, std::move(shape)};
  return g;
}

HostTensor filled(Shape shape) {
  std::vector<float> data(static_cast<size_t>(numel(shape)), 0.0f);
  return {std::move(shape), std::move(data)};
}

TEST(CheckInputs, ReturnsTheBatchOfTheFirstInput) {
  EXPECT_EQ(check_inputs(one_input_graph({kBatch, 3, 2, 2}), {filled({5, 3, 2, 2})}), 5);
}

TEST(CheckInputs, WrongShapeNamesBothShapes) {
  try {
    check_inputs(one_input_graph({kBatch, 3, 32, 32}), {filled({4, 1, 28, 28})});
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()),
              "input 'input' has shape [4,1,28,28]; the model expects [N,3,32,32]");
    EXPECT_EQ(e.kind(), ErrorKind::kData);
  }
}

TEST(CheckInputs, WrongCountIsADataError) {
  const Graph g = one_input_graph({kBatch, 3});
  EXPECT_THROW(check_inputs(g, {}), DataError);
  EXPECT_THROW(check_inputs(g, {filled({1, 3}), filled({1, 3})}), DataError);
}

TEST(CheckInputs, DataSizeMustMatchTheShape) {
  HostTensor t = filled({2, 3});
  t.data.pop_back();
  EXPECT_THROW(check_inputs(one_input_graph({kBatch, 3}), {t}), DataError);
}

TEST(CheckInputs, EveryInputTakesTheSameBatch) {
  Graph g = one_input_graph({kBatch, 3});
  g.inputs.push_back("second");
  g.values["second"] = {"second", DType::kFloat, {kBatch, 2}};
  EXPECT_EQ(check_inputs(g, {filled({4, 3}), filled({4, 2})}), 4);
  EXPECT_THROW(check_inputs(g, {filled({4, 3}), filled({3, 2})}), DataError);
}

TEST(CheckInputs, IntegerInputsHoldIntegersOfTheirType) {
  Graph g = one_input_graph({kBatch, 2});
  g.values["input"].dtype = DType::kUInt8;
  EXPECT_EQ(check_inputs(g, {T({1, 2}, {0, 255})}), 1);
  EXPECT_THROW(check_inputs(g, {T({1, 2}, {0, 256})}), DataError);
  EXPECT_THROW(check_inputs(g, {T({1, 2}, {0, 1.5f})}), DataError);
  EXPECT_THROW(check_inputs(g, {T({1, 2}, {-1, 0})}), DataError);
  g.values["input"].dtype = DType::kInt8;
  EXPECT_EQ(check_inputs(g, {T({1, 2}, {-128, 127})}), 1);
  EXPECT_THROW(check_inputs(g, {T({1, 2}, {128, 0})}), DataError);
}

}  // namespace
}  // namespace autocompress
