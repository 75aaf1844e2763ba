// The compressor conformance suite: every compressor (prune, lowrank, quantize, the whole apply)
// on every model (the example model and the two torchvision fixtures) gives
//   - bit-identical outputs for its no-op setting,
//   - identical graphs when applied twice from the same inputs,
//   - consistent shapes (every node's stored output shapes are what shape inference computes).
// Plus the quantize pass's structure (graph.hpp's conventions) and bad recipes through apply.
#include "compressors/apply.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include "common/error.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/onednn_executor.hpp"
#include "model/onnx_io.hpp"
#include "tests/evaluator/graph_builder.hpp"

namespace autocompress {
namespace {

const std::string kSrc = AC_SOURCE_DIR;
const std::string kFashion = "/usr/share/datasets/fashion-mnist";
const std::string kZeros(64, '0');

// A small calibration set: Fashion-MNIST train images for the example model, normal noise for
// the fixtures.
Dataset calibration_for(const Graph& g, int64_t n) {
  if (g.value(g.inputs[0]).shape == Shape{kBatch, 1, 28, 28})
    return load_mnist_dir(kFashion, Split::kTrain, model_normalization(g), n);
  const HostTensor t = testing::random_input(g, n, 11);
  Dataset d;
  d.source = "noise";
  d.sample_shape = Shape(t.shape.begin() + 1, t.shape.end());
  d.images = t.data;
  return d;
}

ApplyOptions fast_options() {
  ApplyOptions o;
  o.recover.max_features = 600;  // keeps the fixtures' Gram matrices small
  o.recover.batch = o.calib.batch = 16;
  o.extra_calib_images = 16;
  o.recover.threads = o.calib.threads = 1;  // no OpenMP spinning on a shared machine
  o.quant.bias_correction = true;           // off by default; the suite covers it
  return o;
}

void expect_same_graph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t k = 0; k < a.nodes.size(); ++k) {
    const Node &x = a.nodes[k], &y = b.nodes[k];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op, y.op) << x.name;
    EXPECT_EQ(x.inputs, y.inputs) << x.name;
    EXPECT_EQ(x.outputs, y.outputs) << x.name;
    EXPECT_TRUE(x.attrs == y.attrs) << x.name;
  }
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
  ASSERT_EQ(a.initializers.size(), b.initializers.size());
  for (const auto& [name, t] : a.initializers) {
    ASSERT_TRUE(b.is_initializer(name)) << name;
    const TensorData& u = b.initializer(name);
    EXPECT_TRUE(t.dtype == u.dtype && t.shape == u.shape && t.f == u.f && t.i == u.i) << name;
  }
}

// Every node's stored output shapes are what shape inference computes from its inputs.
void expect_consistent_shapes(const Graph& g) {
  for (const auto& n : g.nodes) {
    if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") {
      EXPECT_EQ(g.value(n.outputs[0]).shape, g.value(n.inputs[0]).shape) << n.name;
      continue;
    }
    const auto shapes = infer_node_shapes(g, n);
    for (size_t k = 0; k < shapes.size(); ++k)
      EXPECT_EQ(g.value(n.outputs[k]).shape, shapes[k]) << n.name;
  }
}

// The four compressors as recipes: the knob at its no-op value and at a real value.
struct Case {
  const char* name;
  nlohmann::json defaults;  // applied to every layer
};
const Case kCases[] = {
    {"prune", {{"prune", 0.5}}},
    {"lowrank", {{"rank", 0.5}}},
    {"quant_int8", {{"precision", "int8"}}},
    {"quant_w4", {{"wbits", 4}}},
    {"all", {{"prune", 0.5}, {"rank", 0.5}, {"precision", "int8"}, {"wbits", 6}}},
};

// The knobs as defaults; on a big model (resnet18: 11 M weights) the knobs other than prune go
// to the layers under 200k weights only, to keep the suite fast.
Recipe recipe_with(const nlohmann::json& defaults, const Graph* g = nullptr) {
  int64_t params = 0;
  for (const auto& l : g ? weighted_layers(*g) : std::vector<LayerInfo>{}) params += l.params;
  if (params > 2'000'000) {
    nlohmann::json d = defaults, layers = nlohmann::json::object();
    d.erase("rank"), d.erase("precision"), d.erase("wbits");
    nlohmann::json knobs = defaults;
    knobs.erase("prune");
    if (!knobs.empty())
      for (const auto& l : weighted_layers(*g))
        if (l.params < 200'000) layers[l.name] = knobs;
    nlohmann::json j{{"format", "autocompress-recipe"},
                     {"version", 1},
                     {"model_sha256", std::string(64, '0')},
                     {"defaults", d},
                     {"layers", layers}};
    return parse_recipe(j.dump(), "test");
  }
  nlohmann::json j{{"format", "autocompress-recipe"},
                   {"version", 1},
                   {"model_sha256", std::string(64, '0')},  // apply checks structure, not hash
                   {"defaults", defaults}};
  return parse_recipe(j.dump(), "test");
}

class Conformance : public ::testing::TestWithParam<std::tuple<std::string, int>> {
 protected:
  static const ApplyContext& context(const std::string& model) {
    static std::map<std::string, std::unique_ptr<ApplyContext>> cache;
    auto& c = cache[model];
    if (!c) {
      Graph g = load_onnx(kSrc + "/" + model);
      Dataset calib = calibration_for(g, 32);
      c = std::make_unique<ApplyContext>(std::move(g), std::move(calib), fast_options());
    }
    return *c;
  }
};

TEST_P(Conformance, NoOpIsBitIdentical) {
  const ApplyContext& ctx = context(std::get<0>(GetParam()));
  nlohmann::json d = kCases[std::get<1>(GetParam())].defaults;
  for (auto& [k, v] : d.items())  // every knob at its identity value
    v = k == "prune"   ? nlohmann::json(0)
        : k == "rank"  ? nlohmann::json(1.0)
        : k == "wbits" ? nlohmann::json(8)
                       : nlohmann::json("fp32");
  const Graph out = apply(ctx, recipe_with(d));
  expect_same_graph(ctx.original(), out);
  const HostTensor in = testing::random_input(out, 4);
  auto a = compile(ctx.original(), {4, 1})->run({in}), b = compile(out, {4, 1})->run({in});
  EXPECT_EQ(a[0].data, b[0].data);
}

TEST_P(Conformance, DeterministicAndShapesConsistent) {
  const ApplyContext& ctx = context(std::get<0>(GetParam()));
  const Recipe r = recipe_with(kCases[std::get<1>(GetParam())].defaults, &ctx.original());
  ApplyReport rep;
  const Graph a = apply(ctx, r, &rep), b = apply(ctx, r);
  expect_same_graph(a, b);
  expect_consistent_shapes(a);
  // Something happened (the real knob is not a silent no-op).
  EXPECT_FALSE(rep.notes.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Models, Conformance,
    ::testing::Combine(::testing::Values("examples/fashion_cnn.onnx",
                                         "tests/fixtures/resnet18_32.onnx",
                                         "tests/fixtures/mobilenet_v2_64.onnx"),
                       ::testing::Range(0, int(std::size(kCases)))),
    [](const auto& info) {
      std::string m = std::get<0>(info.param);
      m = m.substr(m.rfind('/') + 1);
      m = m.substr(0, m.find('.'));
      return m + "_" + kCases[std::get<1>(info.param)].name;
    });

// ---- the quantize pass's structure (model/graph.hpp, "Quantization conventions")

class QuantizeStructure : public ::testing::Test {
 protected:
  static const ApplyContext& ctx() {
    static ApplyContext c(load_onnx(kSrc + "/examples/fashion_cnn.onnx"),
                          calibration_for(load_onnx(kSrc + "/examples/fashion_cnn.onnx"), 64),
                          fast_options());
    return c;
  }
};

TEST_F(QuantizeStructure, UniformInt8FollowsTheContract) {
  const Graph q = apply(ctx(), recipe_with({{"precision", "int8"}}));
  std::map<std::string, int> quantizers, dequantizers;
  for (const auto& n : q.nodes) {
    if (n.op == "QuantizeLinear") ++quantizers[n.inputs[0]];
    if (n.op == "DequantizeLinear" && !q.is_initializer(n.inputs[0])) ++dequantizers[n.inputs[0]];
    if (n.op != "Conv" && n.op != "Gemm") continue;
    EXPECT_EQ(std::get<std::string>(n.attrs.at("precision")), "int8") << n.name;
    EXPECT_EQ(std::get<int64_t>(n.attrs.at("wbits")), 8) << n.name;
    const Node* wdq = q.producer(n.inputs[1]);
    ASSERT_TRUE(wdq && wdq->op == "DequantizeLinear") << n.name;
    const TensorData& w = q.initializer(wdq->inputs[0]);
    EXPECT_EQ(w.dtype, DType::kInt8);
    EXPECT_EQ(q.initializer(wdq->inputs[1]).shape, Shape{w.shape[0]});
    EXPECT_EQ(wdq->i("axis"), 0);
    for (int64_t v : w.i) EXPECT_LE(std::abs(v), 127);
    const Node* xdq = q.producer(n.inputs[0]);
    ASSERT_TRUE(xdq && xdq->op == "DequantizeLinear") << n.name;
  }
  // One Q and one DQ per quantized tensor; nobody but its Q reads the float tensor.
  for (const auto& [t, count] : quantizers) {
    EXPECT_EQ(count, 1) << t;
    for (const Node* c : q.consumers(t)) EXPECT_EQ(c->op, "QuantizeLinear") << t;
    EXPECT_EQ(dequantizers[t + "_q"], 1) << t;
  }
  // The input (normalized, signed) is s8; the ReLU outputs are u8; the logits stay float.
  const auto zp = [&](const std::string& t) { return q.initializer(t + "_zero_point").dtype; };
  EXPECT_EQ(zp(q.inputs[0]), DType::kInt8);
  EXPECT_EQ(zp("/relu/Relu_output_0"), DType::kUInt8);
  EXPECT_EQ(quantizers.count(q.outputs[0]), 0u);
  // MaxPool output shares its input's scale.
  const Node* pool = q.find_node("/pool1/MaxPool");
  ASSERT_TRUE(pool);
  EXPECT_EQ(q.initializer(q.producer(pool->inputs[0])->inputs[1]).f,
            q.initializer(pool->outputs[0] + "_scale").f);
}

TEST_F(QuantizeStructure, WeightOnlyUnderFloatKeepsFloatInputs) {
  const Graph q = apply(ctx(), recipe_with({{"wbits", 4}, {"precision", "bf16"}}));
  for (const auto& n : q.nodes) {
    EXPECT_NE(n.op, "QuantizeLinear");
    if (n.op != "Conv" && n.op != "Gemm") continue;
    EXPECT_EQ(std::get<std::string>(n.attrs.at("precision")), "bf16");
    EXPECT_EQ(std::get<int64_t>(n.attrs.at("wbits")), 4);
    const Node* wdq = q.producer(n.inputs[1]);
    ASSERT_TRUE(wdq && wdq->op == "DequantizeLinear");
    for (int64_t v : q.initializer(wdq->inputs[0]).i) EXPECT_LE(std::abs(v), 7);
  }
}

// Concat inputs share one scale (a two-branch graph built here).
TEST(Quantize, ConcatInputsShareOneScale) {
  testing::GraphBuilder b({1, 2, 6, 6});
  const std::string a = b.conv("x", 4, 3, 1, {1, 1, 1, 1});
  const std::string c = b.unary("Relu", b.conv("x", 4, 1));
  const std::string cat = b.node("Concat", {a, c}, {kBatch, 8, 6, 6}, {{"axis", int64_t(1)}});
  Graph g = b.finish({b.conv(cat, 3, 1)});
  std::map<std::string, QuantSetting> s;
  for (const auto& n : g.nodes)
    if (n.op == "Conv") s[n.name] = {Precision::kInt8, 8};
  Dataset d;
  d.sample_shape = {2, 6, 6};
  d.images = testing::random_input(g, 8).data;
  const ActivationStats st = collect_activation_stats(g, d, quantizable_tensors(g), {});
  const Graph q = quantize(g, s, st, {});
  const float sa = q.initializer(a + "_scale").f[0], sc = q.initializer(c + "_scale").f[0];
  EXPECT_EQ(sa, sc);
  EXPECT_EQ(sa, q.initializer(cat + "_scale").f[0]);
  EXPECT_EQ(q.initializer(c + "_zero_point").dtype, DType::kInt8);  // the class is signed
}

// ---- bad recipes through apply

TEST_F(QuantizeStructure, BadRecipesAreRefused) {
  EXPECT_THROW(
      apply(ctx(), parse_recipe(R"({"format":"autocompress-recipe","version":1,"model_sha256":")" +
                                kZeros + R"(",
      "layers":{"/nope/Conv":{"prune":0.5}}})")),
      RecipeError);
  EXPECT_THROW(parse_recipe(R"({"format":"autocompress-recipe","version":1,"model_sha256":")" +
                            kZeros + R"(",
      "defaults":{"wbits":1}})"),
               RecipeError);
  EXPECT_THROW(
      apply(ctx(), parse_recipe(R"({"format":"autocompress-recipe","version":1,"model_sha256":")" +
                                kZeros + R"(",
      "layers":{"/fc2/Gemm":{"prune":0.5}}})")),
      RecipeError);
}

TEST(Apply, CalibrationlessRecipesNeedData) {
  ApplyContext ctx(load_onnx(kSrc + "/examples/fashion_cnn.onnx"), Dataset{}, fast_options());
  EXPECT_THROW(apply(ctx, recipe_with({{"precision", "int8"}})), UsageError);
  // Weight-only without bias correction, and bf16, need no data.
  ApplyOptions o = fast_options();
  o.quant.bias_correction = false;
  const Graph q = apply(ctx, recipe_with({{"wbits", 4}}), o);
  EXPECT_EQ(std::get<int64_t>(q.find_node("/fc1/Gemm")->attrs.at("wbits")), 4);
  EXPECT_EQ(recipe_layer_of("/fc1/Gemm/lowrank_a"), "/fc1/Gemm");
}

// Evaluating the written file gives the same metrics as evaluating the recipe in memory
// (an int8 + 4-bit + pruned recipe, through save_onnx / load_onnx and the oneDNN executor).
TEST(Apply, WrittenFileEvaluatesLikeTheGraphInMemory) {
  const Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
  const ApplyContext ctx(g, calibration_for(g, 64), fast_options());
  const nlohmann::json j{{"format", "autocompress-recipe"},
                         {"version", 1},
                         {"model_sha256", kZeros},
                         {"defaults", {{"prune", 0.25}, {"precision", "int8"}}},
                         {"layers", {{"/fc1/Gemm", {{"wbits", 4}}}}}};
  const Graph mem = apply(ctx, parse_recipe(j.dump(), "test"));
  const std::string path =
      (std::filesystem::temp_directory_path() / "ac_compressors_test_roundtrip.onnx").string();
  save_onnx(mem, path);
  const Graph file = load_onnx(path);
  std::filesystem::remove(path);
  const auto params = [](const Graph& x) {
    int64_t n = 0;
    for (const auto& l : weighted_layers(x)) n += l.params;
    return n;
  };
  EXPECT_LT(params(file), params(g));  // pruned
  EXPECT_TRUE(std::any_of(file.nodes.begin(), file.nodes.end(),
                          [](const Node& n) { return n.op == "QuantizeLinear"; }));  // int8
  const Dataset val = load_mnist_dir(kFashion, Split::kVal, model_normalization(g), 200);
  auto em = compile(mem, {50, 1});
  auto ef = compile(file, {50, 1});
  const EvalResult a = evaluate(*em, mem, val, 50, {}, true);
  const EvalResult b = evaluate(*ef, file, val, 50, {}, true);
  ASSERT_EQ(a.metrics.count, 200);
  ASSERT_TRUE(a.metrics.top1 && b.metrics.top1);
  EXPECT_EQ(*a.metrics.top1, *b.metrics.top1);
  EXPECT_GT(*a.metrics.top1, 0.5);  // the compressed model still classifies
  EXPECT_EQ(a.outputs, b.outputs);  // bit-identical logits
}

}  // namespace
}  // namespace autocompress
