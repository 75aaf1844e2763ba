// Quantized and bf16 models in ONNX (graph.hpp, "Quantization conventions"): QuantizeLinear /
// DequantizeLinear read and written as IR ops, QLinearConv lowered to QDQ, bf16 Cast pairs and
// layer metadata; exact, deterministic round trips the ONNX checkers accept.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "evaluator/reference.hpp"
#include "tests/model/model_test_util.hpp"

namespace autocompress {
namespace {

using namespace ac_test;
using TP = onnx::TensorProto;

// x -Q(u8)-> -DQ-> Conv(W = DQ(int8, per channel, axis 0), float bias) -> Relu -Q(u8)-> -DQ->
// Flatten -> Gemm(W = DQ(int8, axis 0), transB) -> y: the form compressors/quant writes.
OnnxBuilder qdq_model() {
  OnnxBuilder b(13);
  b.input("x", {kSym, 2, 4, 4}).output("y");
  b.initializer("xs", {}, {0.05f}).initializer(small_int_tensor("xz", TP::UINT8, {}, {128}));
  b.initializer(small_int_tensor("wq", TP::INT8, {3, 2, 3, 3}, [] {
    std::vector<int64_t> v(54);
    for (int k = 0; k < 54; ++k) v[k] = (k * 37) % 255 - 127;
    return v;
  }()));
  b.initializer("ws", {3}, {0.01f, 0.02f, 0.005f}).initializer("wb", {3}, {0.1f, -0.2f, 0.3f});
  b.initializer(small_int_tensor("wz", TP::INT8, {3}, {0, 0, 0}));
  b.initializer("hs", {}, {0.02f}).initializer(small_int_tensor("hz", TP::UINT8, {}, {0}));
  b.initializer(small_int_tensor("fq", TP::INT8, {5, 12}, [] {
    std::vector<int64_t> v(60);
    for (int k = 0; k < 60; ++k) v[k] = (k * 11) % 200 - 100;
    return v;
  }()));
  b.initializer("fs", {5}, {0.01f, 0.02f, 0.03f, 0.04f, 0.05f});
  b.node("QuantizeLinear", {"x", "xs", "xz"}, {"x_q"}, "x_quant");
  b.node("DequantizeLinear", {"x_q", "xs", "xz"}, {"x_dq"}, "x_dequant");
  b.node("DequantizeLinear", {"wq", "ws", "wz"}, {"w"}, "w_dequant").attr("axis", int64_t{0});
  b.node("Conv", {"x_dq", "w", "wb"}, {"c"}, "conv").attr("pads", {0, 0, 0, 0});
  b.node("Relu", {"c"}, {"r"}, "relu");
  b.node("QuantizeLinear", {"r", "hs", "hz"}, {"r_q"}, "r_quant");
  b.node("DequantizeLinear", {"r_q", "hs", "hz"}, {"r_dq"}, "r_dequant");
  b.node("Flatten", {"r_dq"}, {"f"}, "flatten");
  b.node("DequantizeLinear", {"fq", "fs"}, {"fw"}, "fc_w_dequant").attr("axis", int64_t{0});
  b.node("Gemm", {"f", "fw"}, {"y"}, "fc").attr("transB", int64_t{1});
  return b;
}

TEST(OnnxQdq, LoaderKeepsQdqAndInt8Weights) {
  const Graph g = load(qdq_model(), "qdq.onnx");
  EXPECT_EQ(ops_of(g),
            (std::vector<std::string>{"QuantizeLinear", "DequantizeLinear", "DequantizeLinear",
                                      "Conv", "Relu", "QuantizeLinear", "DequantizeLinear",
                                      "Flatten", "DequantizeLinear", "Gemm"}));
  const TensorData& wq = g.initializer("wq");
  EXPECT_EQ(wq.dtype, DType::kInt8);
  EXPECT_EQ(wq.i.at(1), 37 - 127);
  EXPECT_TRUE(wq.f.empty());
  EXPECT_EQ(g.value("x_q").dtype, DType::kUInt8);
  EXPECT_EQ(g.value("x_dq").dtype, DType::kFloat);
  EXPECT_EQ(g.find_node("w_dequant")->i("axis"), 0);
  EXPECT_FALSE(g.find_node("x_quant")->has("axis"));  // absent stays absent (default 1)
  // Not written by autocompress: the QDQ pattern makes the conv an int8 layer. The Gemm reads a
  // float input (Flatten of the DequantizeLinear): weight-only quantization, no precision.
  EXPECT_EQ(std::get<std::string>(g.find_node("conv")->attrs.at("precision")), "int8");
  EXPECT_FALSE(g.find_node("fc")->has("precision"));
  EXPECT_EQ(weighted_layers(g).size(), 2u);
}

TEST(OnnxQdq, RoundTripIsExactDeterministicAndChecked) {
  Graph g = load(qdq_model(), "qdq.onnx");
  for (auto& n : g.nodes)  // what a compressor adds
    if (n.name == "fc") n.attrs["wbits"] = int64_t{4};
  const std::string bytes = to_onnx_bytes(g);
  const Graph h = load_onnx_bytes(bytes, "saved.onnx");
  expect_same_graph(g, h);
  EXPECT_EQ(to_onnx_bytes(h), bytes);
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  EXPECT_GE(m.opset_import(0).version(), 13);
  for (const auto& n : m.graph().node())
    for (const auto& a : n.attribute()) {
      EXPECT_NE(a.name(), "precision") << n.name();
      EXPECT_NE(a.name(), "wbits") << n.name();
    }
  std::map<std::string, std::string> meta;
  for (const auto& e : m.metadata_props()) meta[e.key()] = e.value();
  EXPECT_EQ(meta.at("autocompress.precision.conv"), "int8");
  EXPECT_EQ(meta.at("autocompress.wbits.fc"), "4");
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == "wq") {
      EXPECT_EQ(t.data_type(), TP::INT8);
    }
  }
}

TEST(OnnxQdq, WrittenMetadataIsAuthoritative) {
  // A QDQ-pattern layer the IR leaves fp32 stays fp32 after the round trip (no pattern guess
  // in files autocompress wrote).
  Graph g = load(qdq_model(), "qdq.onnx");
  for (auto& n : g.nodes) n.attrs.erase("precision");
  expect_same_graph(g, load_onnx_bytes(to_onnx_bytes(g), "saved.onnx"));
}

TEST(OnnxQdq, RunsLikeTheFileSays) {
  // The loaded graph on the reference executor: the output is on the grid of Q/DQ and the int8
  // weights, and the written file computes exactly the same.
  const Graph g = load(qdq_model(), "qdq.onnx");
  HostTensor x{{2, 2, 4, 4}, std::vector<float>(64)};
  for (size_t k = 0; k < x.data.size(); ++k) x.data[k] = float(int(k * 7) % 23) / 10.f - 1.f;
  const auto y = make_reference_executor(g)->run({x}).at(0);
  const auto y2 =
      make_reference_executor(load_onnx_bytes(to_onnx_bytes(g), "saved.onnx"))->run({x}).at(0);
  EXPECT_EQ(y.data, y2.data);
  EXPECT_EQ(y.shape, (Shape{2, 5}));
}

TEST(OnnxQdq, QLinearConvLowersToQdq) {
  OnnxBuilder b(10);
  b.input("x", {1, 1, 3, 3}, TP::UINT8).output("y", TP::UINT8);
  b.initializer("xs", {}, {0.5f}).initializer(small_int_tensor("xz", TP::UINT8, {}, {10}));
  b.initializer(small_int_tensor("w", TP::INT8, {2, 1, 1, 1}, {3, -4}));
  b.initializer("ws", {2}, {0.25f, 0.5f})
      .initializer(small_int_tensor("wz", TP::INT8, {2}, {0, 0}));
  b.initializer("ys", {}, {0.1f}).initializer(small_int_tensor("yz", TP::UINT8, {}, {128}));
  b.initializer(small_int_tensor("B", TP::INT32, {2}, {8, -8}));
  b.node("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "B"}, {"y"}, "qconv");
  const Graph g = load_onnx_bytes(b.bytes(), "qconv.onnx", LoadOptions{.symbolic_batch = false});
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"DequantizeLinear", "DequantizeLinear", "Conv",
                                                 "QuantizeLinear"}));
  const Node& conv = *nodes_of(g, "Conv").at(0);
  EXPECT_EQ(conv.name, "qconv");
  // The int32 bias dequantized with x_scale * w_scale.
  EXPECT_EQ(g.initializer(conv.inputs[2]).f,
            (std::vector<float>{8 * 0.5f * 0.25f, -8 * 0.5f * 0.5f}));
  EXPECT_EQ(g.value("y").dtype, DType::kUInt8);
  // y = Q((x - 10) * 0.5 * w * ws + B * xs * ws) per channel
  HostTensor x{{1, 1, 3, 3}, {10, 11, 12, 13, 14, 20, 30, 0, 255}};
  const auto y = make_reference_executor(g)->run({x}).at(0);
  for (int k = 0; k < 9; ++k) {
    const float v = (x.data[k] - 10) * 0.5f;
    EXPECT_EQ(y.data[k], quantize_value(v * 3 * 0.25f + 1.0f, 0.1f, 128, DType::kUInt8)) << k;
    EXPECT_EQ(y.data[9 + k], quantize_value(v * -4 * 0.5f - 2.0f, 0.1f, 128, DType::kUInt8)) << k;
  }
}

TEST(OnnxQdq, MatMulOfDequantizedWeightBecomesGemmOfTransposedInt8) {
  // ONNX Runtime's QDQ form of a Linear layer: MatMul(x, DQ(w_q [K,M], axis 1)).
  OnnxBuilder b(13);
  b.input("x", {kSym, 3}).output("y");
  b.initializer(small_int_tensor("wq", TP::INT8, {3, 2}, {1, 2, 3, 4, 5, 6}));
  b.initializer("ws", {2}, {0.5f, 0.25f});
  b.node("DequantizeLinear", {"wq", "ws"}, {"w"}).attr("axis", int64_t{1});
  b.node("MatMul", {"x", "w"}, {"y"}, "fc");
  const Graph g = load(b);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"DequantizeLinear", "Gemm"}));
  const Node& dq = *nodes_of(g, "DequantizeLinear").at(0);
  EXPECT_EQ(dq.i("axis"), 0);
  EXPECT_EQ(g.initializer(dq.inputs[0]).i, (std::vector<int64_t>{1, 3, 5, 2, 4, 6}));
  EXPECT_EQ(g.initializer(dq.inputs[0]).dtype, DType::kInt8);
  const auto y = make_reference_executor(g)->run({HostTensor{{1, 3}, {1, 1, 1}}}).at(0);
  EXPECT_EQ(y.data, (std::vector<float>{9 * 0.5f, 12 * 0.25f}));
}

TEST(OnnxQdq, ConstantChainsFoldExceptTheInt8Weight) {
  // Q(float weight) folds to an int8 constant, which DQ reads as a kept node; the DQ of an int32
  // constant folds to float.
  OnnxBuilder b(13);
  b.input("x", {kSym, 2}).output("y");
  b.initializer("w", {2, 2}, {0.5f, -1.0f, 0.26f, 0.0f}).initializer("s", {}, {0.5f});
  b.initializer(small_int_tensor("z", TP::INT8, {}, {0}));
  b.initializer(small_int_tensor("bq", TP::INT32, {2}, {3, -3})).initializer("bs", {}, {0.25f});
  b.node("QuantizeLinear", {"w", "s", "z"}, {"wq"});
  b.node("DequantizeLinear", {"wq", "s", "z"}, {"wd"});
  b.node("DequantizeLinear", {"bq", "bs"}, {"bias"});
  b.node("Gemm", {"x", "wd", "bias"}, {"y"}, "fc").attr("transB", int64_t{1});
  const Graph g = load(b);
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"DequantizeLinear", "Gemm"}));
  EXPECT_EQ(g.initializer("wq").i, (std::vector<int64_t>{1, -2, 1, 0}));  // 0.52 rounds to 1
  EXPECT_EQ(g.initializer("bias").f, (std::vector<float>{0.75f, -0.75f}));
}

// ---- bf16 ---------------------------------------------------------------------------------------

// x -> Cast(bf16) -> Cast(float) -> Conv(W = Cast(float) of a bfloat16 initializer) -> y.
OnnxBuilder bf16_model() {
  OnnxBuilder b(13);
  b.input("x", {kSym, 2, 3, 3}).output("y");
  onnx::TensorProto w;
  w.set_name("w_bf16");
  w.set_data_type(TP::BFLOAT16);
  for (int64_t d : {4, 2, 1, 1}) w.add_dims(d);
  for (int k = 0; k < 8; ++k) w.add_int32_data(0x3f80 + 3 * k);  // 1.0, 1.0234375, ...
  b.initializer(w).initializer("b", {4}, {0.1f, 0.2f, 0.3f, 0.4f});
  b.node("Cast", {"w_bf16"}, {"w"}).attr("to", int64_t{TP::FLOAT});
  b.node("Cast", {"x"}, {"x16"}).attr("to", int64_t{TP::BFLOAT16});
  b.node("Cast", {"x16"}, {"x32"}).attr("to", int64_t{TP::FLOAT});
  b.node("Conv", {"x32", "w", "b"}, {"y"}, "conv");
  return b;
}

TEST(OnnxBf16, CastPairsReadAsPrecisionBf16) {
  const Graph g = load(bf16_model());
  EXPECT_EQ(ops_of(g), (std::vector<std::string>{"Conv"}));
  const Node& conv = g.nodes[0];
  EXPECT_EQ(std::get<std::string>(conv.attrs.at("precision")), "bf16");
  EXPECT_EQ(conv.inputs[0], "x");
  const TensorData& w = g.initializer(conv.inputs[1]);
  EXPECT_EQ(w.dtype, DType::kFloat);
  EXPECT_EQ(w.f.at(1), 1.0234375f);
  for (float v : w.f) EXPECT_EQ(round_to_bf16(v), v);
}

TEST(OnnxBf16, RoundTripWritesCastPairsAndBfloat16Weights) {
  Graph g = load(bf16_model());
  g.nodes[0].attrs["wbits"] = int64_t{8};
  const std::string bytes = to_onnx_bytes(g);
  expect_same_graph(g, load_onnx_bytes(bytes, "saved.onnx"));
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  std::multiset<int64_t> casts;
  for (const auto& n : m.graph().node())
    if (n.op_type() == "Cast") casts.insert(n.attribute(0).i());
  EXPECT_EQ(casts, (std::multiset<int64_t>{TP::FLOAT, TP::FLOAT, TP::BFLOAT16}));
  int bf16_initializers = 0;
  for (const auto& t : m.graph().initializer()) bf16_initializers += t.data_type() == TP::BFLOAT16;
  EXPECT_EQ(bf16_initializers, 1);
  // Weights that are not bfloat16 values stay float32 (the round trip stays exact).
  g.initializers.at("w").f[0] = 1.0001f;
  expect_same_graph(g, load_onnx_bytes(to_onnx_bytes(g), "saved.onnx"));
}

TEST(OnnxBf16, Bf16CastOutsideAPairIsUnsupported) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).output("y");
  b.node("Cast", {"x"}, {"x16"}).attr("to", int64_t{TP::BFLOAT16});
  b.node("Cast", {"x16"}, {"x32"}).attr("to", int64_t{TP::FLOAT});
  b.node("Relu", {"x32"}, {"y"}, "relu");
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("bf16 layer"), std::string::npos) << msg;
}

// ---- errors -------------------------------------------------------------------------------------

TEST(OnnxQdqErrors, NonConstantScaleNamesTheNode) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}).input("s", {1}).output("y", TP::UINT8);
  b.node("QuantizeLinear", {"x", "s"}, {"y"}, "quant");
  auto msg = error_of<UnsupportedError>([&] { load(b); });
  EXPECT_NE(msg.find("node 'quant'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("y_scale 's' must be an initializer"), std::string::npos) << msg;
}

TEST(OnnxQdqErrors, ZeroPointOfAnotherTypeNamesTheNode) {
  OnnxBuilder b(13);
  b.input("x", {kSym, 4}, TP::INT8).output("y");
  b.initializer("s", {}, {0.5f}).initializer(small_int_tensor("z", TP::UINT8, {}, {3}));
  b.node("DequantizeLinear", {"x", "s", "z"}, {"y"}, "dequant");
  auto msg = error_of<ModelError>([&] { load(b); });
  EXPECT_NE(msg.find("node 'dequant'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("uint8"), std::string::npos) << msg;
}

TEST(OnnxQdqErrors, MetadataNamingNoLayerIsAModelError) {
  OnnxBuilder b = qdq_model();
  b.metadata("autocompress.wbits.nosuchlayer", "4");
  auto msg = error_of<ModelError>([&] { load(b); });
  EXPECT_NE(msg.find("'nosuchlayer'"), std::string::npos) << msg;
  OnnxBuilder c = qdq_model();
  c.metadata("autocompress.precision.conv", "int4");
  error_of<ModelError>([&] { load(c); });
}

// ---- Debian's python onnx checker --------------------------------------------------------------

// python3-onnx's onnx.checker.check_model accepts what we write. Runs only
// where /usr/bin/python3 has onnx (the C++ checker runs in every round-trip test above).
TEST(OnnxQdqPython, DebianOnnxCheckerAcceptsTheWrittenModels) {
  if (std::system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 cannot import onnx (python3-onnx not installed)";
  Graph q = load(qdq_model(), "qdq.onnx");
  for (auto& n : q.nodes)
    if (n.name == "fc") n.attrs["wbits"] = int64_t{4};
  Graph bf = load(bf16_model());
  const auto dir = std::filesystem::temp_directory_path();
  for (const auto& [name, g] : {std::pair{"qdq", &q}, std::pair{"bf16", &bf}}) {
    const std::string path = (dir / ("ac_model_test_" + std::string(name) + ".onnx")).string();
    save_onnx(*g, path);
    const std::string cmd =
        "/usr/bin/python3 -c 'import onnx, sys; m = onnx.load(sys.argv[1]); "
        "onnx.checker.check_model(m, full_check=True)' " +
        path;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << name << ": " << cmd;
    std::filesystem::remove(path);
  }
}

}  // namespace
}  // namespace autocompress
