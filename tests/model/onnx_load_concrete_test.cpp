// load_onnx with LoadOptions::symbolic_batch = false: every shape stays as the file declares it,
// ops over dim 0 load like any other op, symbolic input dims are refused naming the input; and the
// default (symbolic batch) loading is unchanged.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.hpp"
#include "tests/model/model_test_util.hpp"

namespace autocompress {
namespace {

using namespace ac_test;
using Ints = std::vector<int64_t>;

const LoadOptions kConcrete{.symbolic_batch = false};

Graph load_concrete(const OnnxBuilder& b, const std::string& name = "test.onnx") {
  return load_onnx_bytes(b.bytes(), name, kConcrete);
}

// x [shape] -> op(attrs) -> y, opset 13.
OnnxBuilder unary_model(
    const std::string& op, const Ints& shape,
    const std::function<void(NodeBuilder&)>& setup = [](NodeBuilder&) {}) {
  OnnxBuilder b(13);
  b.input("x", shape).output("y");
  auto n = b.node(op, {"x"}, {"y"}, "op");
  setup(n);
  return b;
}

TEST(OnnxLoadConcrete, ConcatOnAxis0) {
  OnnxBuilder b(13);
  b.input("a", {2, 4}).input("c", {4, 4}).output("y", {6, 4});
  b.node("Concat", {"a", "c"}, {"y"}, "cat").attr("axis", -2);
  Graph g = load_concrete(b);
  EXPECT_EQ(g.inputs, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(g.value("a").shape, (Shape{2, 4}));
  EXPECT_EQ(g.value("c").shape, (Shape{4, 4}));
  ASSERT_EQ(ops_of(g), (std::vector<std::string>{"Concat"}));
  EXPECT_EQ(g.nodes[0].i("axis"), 0);
  EXPECT_EQ(g.value("y").shape, (Shape{6, 4}));
}

TEST(OnnxLoadConcrete, SoftmaxOnAxis0) {
  Graph g =
      load_concrete(unary_model("Softmax", {3, 4, 5}, [](NodeBuilder& n) { n.attr("axis", 0); }));
  ASSERT_EQ(ops_of(g), (std::vector<std::string>{"Softmax"}));
  EXPECT_EQ(g.nodes[0].i("axis"), 0);
  EXPECT_EQ(g.nodes[0].i("coerce_2d"), 0);
  EXPECT_EQ(g.value("y").shape, (Shape{3, 4, 5}));
}

TEST(OnnxLoadConcrete, FlattenAtAnyAxis) {
  for (int64_t axis : {0, 2, 3, -1}) {
    Graph g = load_concrete(
        unary_model("Flatten", {2, 3, 4, 5}, [&](NodeBuilder& n) { n.attr("axis", axis); }));
    const int64_t a = axis < 0 ? axis + 4 : axis;
    const int64_t head = Ints{1, 2, 6, 24, 120}[a];
    EXPECT_EQ(g.nodes.at(0).i("axis"), a);
    EXPECT_EQ(g.value("y").shape, (Shape{head, 120 / head})) << "axis " << axis;
  }
}

TEST(OnnxLoadConcrete, ReduceMeanDefaultAxesIncludeDim0) {
  Graph g = load_concrete(unary_model("ReduceMean", {3, 2, 2}));
  EXPECT_EQ(g.nodes.at(0).ints("axes"), (Ints{0, 1, 2}));
  EXPECT_EQ(g.value("y").shape, (Shape{1, 1, 1}));
  Graph g2 = load_concrete(
      unary_model("ReduceMean", {3, 2, 2}, [](NodeBuilder& n) { n.attr("keepdims", 0); }));
  EXPECT_EQ(g2.value("y").shape, (Shape{}));
}

TEST(OnnxLoadConcrete, TransposeMovingDim0StaysATranspose) {
  Graph g = load_concrete(unary_model("Transpose", {2, 3, 4}, [](NodeBuilder& n) {
    n.attr("perm", {1, 2, 0});
  }));
  ASSERT_EQ(ops_of(g), (std::vector<std::string>{"Transpose"}));
  EXPECT_EQ(g.nodes[0].ints("perm"), (Ints{1, 2, 0}));
  EXPECT_EQ(g.value("y").shape, (Shape{3, 4, 2}));
  Graph reversed = load_concrete(unary_model("Transpose", {2, 3, 4}));  // default perm
  EXPECT_EQ(reversed.nodes.at(0).ints("perm"), (Ints{2, 1, 0}));
  EXPECT_EQ(reversed.value("y").shape, (Shape{4, 3, 2}));
}

TEST(OnnxLoadConcrete, ReshapeResolvesZeroAndMinusOneOnConcreteDims) {
  struct Case {
    Ints x, target;
    int64_t allowzero;
    Shape out;
  };
  for (const Case& c :
       {Case{{2, 3, 4}, {24}, 0, {24}}, Case{{2, 3, 4}, {4, 2, 3}, 0, {4, 2, 3}},
        Case{{2, 3, 4}, {-1, 2, 3, 4}, 0, {1, 2, 3, 4}}, Case{{2, 3, 4}, {0, -1}, 0, {2, 12}},
        Case{{2, 3, 4}, {4, 0, -1}, 0, {4, 3, 2}}, Case{{0, 3, 4}, {3, 4, 0}, 1, {3, 4, 0}}}) {
    OnnxBuilder b(14);
    b.input("x", c.x).initializer_i64("shape", {static_cast<int64_t>(c.target.size())}, c.target);
    b.output("y");
    b.node("Reshape", {"x", "shape"}, {"y"}, "reshape").attr("allowzero", c.allowzero);
    Graph g = load_concrete(b);
    ASSERT_EQ(ops_of(g), (std::vector<std::string>{"Reshape"}));
    EXPECT_EQ(g.value("x").shape, c.x);
    EXPECT_EQ(g.nodes[0].ints("shape"), c.out) << shape_str(c.target);
    EXPECT_EQ(g.value("y").shape, c.out) << shape_str(c.target);
  }
}

TEST(OnnxLoadConcrete, SqueezeAndUnsqueezeOfDim0) {
  OnnxBuilder b(13);
  b.input("x", {1, 3, 1, 5}).initializer_i64("axes", {1}, {0}).output("y");
  b.node("Squeeze", {"x", "axes"}, {"y"}, "squeeze");
  Graph g = load_concrete(b);
  EXPECT_EQ(g.value("y").shape, (Shape{3, 1, 5}));

  OnnxBuilder u(13);
  u.input("x", {3, 4}).initializer_i64("axes", {1}, {0}).output("y");
  u.node("Unsqueeze", {"x", "axes"}, {"y"}, "unsqueeze");
  Graph gu = load_concrete(u);
  EXPECT_EQ(gu.value("y").shape, (Shape{1, 3, 4}));
}

TEST(OnnxLoadConcrete, InputsOfDifferentDim0AreAllConcrete) {
  OnnxBuilder b(13);
  b.input("x", {3, 4, 5}).input("z", {1, 4, 5}).output("y");
  b.node("Add", {"x", "z"}, {"y"}, "add");
  Graph g = load_concrete(b);
  EXPECT_EQ(g.value("x").shape, (Shape{3, 4, 5}));
  EXPECT_EQ(g.value("z").shape, (Shape{1, 4, 5}));
  EXPECT_EQ(g.value("y").shape, (Shape{3, 4, 5}));
}

TEST(OnnxLoadConcrete, DeclaredOutputShapeComparedExactly) {
  OnnxBuilder b(13);
  b.input("a", {2, 4}).input("c", {4, 4}).output("y", {5, 4});
  b.node("Concat", {"a", "c"}, {"y"}, "cat").attr("axis", 0);
  auto msg = error_of<ModelError>([&] { load_concrete(b, "bad.onnx"); });
  EXPECT_EQ(msg, "bad.onnx: graph output 'y' is declared [5,4] but the graph computes [6,4]");
}

TEST(OnnxLoadConcrete, SymbolicInputDimIsUnsupportedNamingTheInput) {
  auto msg = error_of<UnsupportedError>([] {
    load_concrete(unary_model("Relu", {kSym, 3, 8, 8}), "sym.onnx");
  });
  EXPECT_EQ(msg,
            "sym.onnx: dim 0 of input 'x' is symbolic ('N'); load with a symbolic batch or give "
            "concrete shapes");

  OnnxBuilder b(13);
  b.input("x", {2, 3}).input("w", {2, kSym}).output("y");
  b.node("Add", {"x", "w"}, {"y"}, "add");
  msg = error_of<UnsupportedError>([&] { load_concrete(b); });
  EXPECT_NE(msg.find("dim 1 of input 'w' is symbolic ('N')"), std::string::npos) << msg;

  OnnxBuilder unknown(13);  // a dim with neither a value nor a name
  unknown.input("x", {2, 3}).output("y");
  unknown.model()
      .mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(0)
      ->Clear();
  unknown.node("Relu", {"x"}, {"y"}, "relu");
  msg = error_of<UnsupportedError>([&] { load_concrete(unknown); });
  EXPECT_NE(msg.find("dim 0 of input 'x' is symbolic; load with a symbolic batch"),
            std::string::npos)
      << msg;
}

TEST(OnnxLoadConcrete, FromFileOverload) {
  OnnxBuilder b = unary_model("Softmax", {3, 4}, [](NodeBuilder& n) { n.attr("axis", 0); });
  const std::string path =
      (std::filesystem::temp_directory_path() / "ac_model_test_concrete.onnx").string();
  b.save(path);
  Graph g = load_onnx(path, kConcrete);
  EXPECT_EQ(g.value("x").shape, (Shape{3, 4}));
  EXPECT_EQ(g.source, path);
  EXPECT_THROW(load_onnx(path), UnsupportedError);  // softmax over the batch
  EXPECT_THROW(load_onnx(path, LoadOptions{}), UnsupportedError);
  std::filesystem::remove(path);
}

// ---- the default mode is unchanged ----

TEST(OnnxLoadConcrete, DefaultModeStillUsesTheSymbolicBatch) {
  OnnxBuilder b = unary_model("Relu", {3, 4});
  for (const Graph& g : {load(b), load_onnx_bytes(b.bytes(), "test.onnx", LoadOptions{})}) {
    EXPECT_EQ(g.value("x").shape, (Shape{kBatch, 4}));
    EXPECT_EQ(g.value("y").shape, (Shape{kBatch, 4}));
  }
  EXPECT_EQ(load_concrete(b).value("y").shape, (Shape{3, 4}));
  // A symbolic dim 0 is fine in the default mode.
  EXPECT_EQ(load(unary_model("Relu", {kSym, 4})).value("x").shape, (Shape{kBatch, 4}));
}

TEST(OnnxLoadConcrete, DefaultModeStillRefusesOpsOverTheBatch) {
  OnnxBuilder cat(13);
  cat.input("a", {2, 4}).input("c", {2, 4}).output("y");
  cat.node("Concat", {"a", "c"}, {"y"}, "cat").attr("axis", 0);
  auto msg = error_of<UnsupportedError>([&] { load(cat); });
  EXPECT_NE(msg.find("Concat along the batch dimension"), std::string::npos) << msg;

  msg = error_of<UnsupportedError>([] {
    load(unary_model("Softmax", {3, 4}, [](NodeBuilder& n) { n.attr("axis", 0); }));
  });
  EXPECT_NE(msg.find("Softmax over the batch dimension"), std::string::npos) << msg;

  msg = error_of<UnsupportedError>([] {
    load(unary_model("Transpose", {2, 3, 4}, [](NodeBuilder& n) { n.attr("perm", {1, 0, 2}); }));
  });
  EXPECT_NE(msg.find("Transpose moves the batch dimension"), std::string::npos) << msg;
}

}  // namespace
}  // namespace autocompress
