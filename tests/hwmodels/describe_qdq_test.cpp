// describe() on quantized (QDQ) graphs: the schedule is what the oneDNN evaluator runs
// (evaluator/fusion.hpp), checked op by op against fuse() itself and against the steps measure()
// times; the costing graph of a recipe becomes a runnable QDQ model (compressors/runnable.hpp).
#include <gtest/gtest.h>

#include <set>

#include "../evaluator/graph_builder.hpp"
#include "compressors/recipe.hpp"
#include "compressors/runnable.hpp"
#include "evaluator/fusion.hpp"
#include "hwmodels/layer_desc.hpp"
#include "hwmodels/measure.hpp"
#include "models.hpp"

namespace ac = autocompress;
using ac::DType;
using ac::LayerKind;
using ac::Precision;

namespace {

const ac::Graph& fashion() { return ac::testing::fashion_cnn(); }

// The costing graph of a recipe: modes as attributes (as `profile --recipe` builds it).
ac::Graph with_modes(const std::map<std::string, std::pair<Precision, int>>& modes) {
  ac::Graph g = fashion();
  for (auto& n : g.nodes)
    if (auto it = modes.find(n.name); it != modes.end())
      ac::set_mode_attrs(n, it->second.first, it->second.second);
  return g;
}

const char* const kStem = "/stem/stem.0/Conv";
const char* const kConv1 = "/res/conv1/conv1.0/Conv";
const char* const kConv2 = "/res/conv2/conv2.0/Conv";
const char* const kExpand = "/expand/expand.0/Conv";
const char* const kDw = "/dsep/dw/dw.0/Conv";
const char* const kPw = "/dsep/pw/pw.0/Conv";
const char* const kConv5 = "/conv5/conv5.0/Conv";
const char* const kFc1 = "/fc1/Gemm";
const char* const kFc2 = "/fc2/Gemm";

std::map<std::string, std::pair<Precision, int>> all(Precision p, int wbits) {
  std::map<std::string, std::pair<Precision, int>> m;
  for (const char* n : {kStem, kConv1, kConv2, kExpand, kDw, kPw, kConv5, kFc1, kFc2})
    m[n] = {p, wbits};
  return m;
}

// Every op fuse() keeps has one schedule entry of its name (Flatten / Reshape are views), int8
// exactly where the evaluator runs int8, with its u8/s8 sides; describe() adds only the inferred
// reorders at precision-mode boundaries.
void expect_mirrors_fusion(const ac::Graph& g) {
  const auto s = ac::describe(g, 2, ac::graph_precisions(g));
  std::map<std::string, const ac::LayerDesc*> by_name;
  for (const auto& d : s) {
    if (d.kind == LayerKind::kReorder && !d.graph_op) continue;
    EXPECT_TRUE(by_name.emplace(d.name, &d).second) << "twice: " << d.name;
  }
  size_t ops = 0;
  for (const auto& op : ac::fuse(g)) {
    const auto& n = *op.node;
    if (n.op == "Flatten" || n.op == "Reshape") continue;
    ++ops;
    auto it = by_name.find(n.name);
    ASSERT_NE(it, by_name.end()) << "no entry for " << n.op << " " << n.name;
    const ac::LayerDesc& d = *it->second;
    const bool int8 = op.int8() || (!op.qin.empty() && op.qout);
    EXPECT_EQ(d.precision == Precision::kInt8 && d.kind != LayerKind::kReorder, int8) << n.name;
    if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") {
      EXPECT_EQ(d.kind, LayerKind::kReorder) << n.name;
      EXPECT_TRUE(d.graph_op) << n.name;
    }
    if (!int8) continue;
    EXPECT_EQ(d.s8_in, op.qin[0].dtype == DType::kInt8) << n.name;
    EXPECT_EQ(d.obits, op.qout ? 8 : 32) << n.name;
    if (op.qout) {
      EXPECT_EQ(d.s8_out, op.qout->dtype == DType::kInt8) << n.name;
    }
  }
  EXPECT_EQ(ops, by_name.size());
}

const ac::LayerDesc& entry(const std::vector<ac::LayerDesc>& s, const std::string& name) {
  for (const auto& d : s)
    if (d.name == name) return d;
  throw std::runtime_error("no schedule entry " + name);
}

TEST(DescribeQdq, Int8EverywhereRunsAsTheEvaluatorLowersIt) {
  const ac::Graph q = ac::runnable_model(with_modes(all(Precision::kInt8, 8)));
  expect_mirrors_fusion(q);
  const auto s = ac::describe(q, 2, ac::graph_precisions(q));
  // The 1-channel stem runs in float (VNNI pads to 4 channels): its input is quantized and
  // dequantized as two reorder steps, its weights dequantized at compile time.
  EXPECT_EQ(entry(s, kStem).precision, Precision::kFp32);
  EXPECT_EQ(entry(s, kStem).wbits, 8);
  EXPECT_EQ(ac::graph_precisions(q).at(kStem).mode, Precision::kFp32);
  int qdq = 0;
  for (const auto& d : s) qdq += d.graph_op;
  EXPECT_EQ(qdq, 3);  // Q + DQ of the input, DQ of the logits
  for (const char* n : {kConv1, kConv2, kExpand, kDw, kPw, kConv5, kFc1, kFc2}) {
    EXPECT_EQ(entry(s, n).precision, Precision::kInt8) << n;
    EXPECT_EQ(entry(s, n).abits, 8) << n;
  }
  // conv2 adds the residual as integers and writes u8 after its ReLU; fc2 writes float logits.
  EXPECT_TRUE(entry(s, kConv2).residual);
  EXPECT_EQ(entry(s, kConv2).obits, 8);
  EXPECT_FALSE(entry(s, kConv2).s8_out);
  EXPECT_EQ(entry(s, kFc2).obits, 32);
  // The pools between int8 layers run on the integers, and no mode boundary is left to infer.
  EXPECT_EQ(entry(s, "/pool2/MaxPool").precision, Precision::kInt8);
  for (const auto& d : s) EXPECT_TRUE(d.kind != LayerKind::kReorder || d.graph_op) << d.name;
}

TEST(DescribeQdq, MixedInt8Bf16AndFourBitWeights) {
  auto modes = all(Precision::kFp32, 8);
  modes[kConv1] = {Precision::kInt8, 4};
  modes[kConv2] = {Precision::kBf16, 8};
  modes[kPw] = {Precision::kInt8, 8};
  modes[kConv5] = {Precision::kFp32, 4};  // weight-only
  modes[kFc1] = {Precision::kBf16, 4};    // weight-only under bf16
  const ac::Graph q = ac::runnable_model(with_modes(modes));
  expect_mirrors_fusion(q);
  const auto s = ac::describe(q, 2, ac::graph_precisions(q));
  EXPECT_EQ(entry(s, kConv1).precision, Precision::kInt8);
  EXPECT_EQ(entry(s, kConv1).wbits, 4);
  EXPECT_EQ(entry(s, kConv1).obits, 32);  // its reader conv2 is bf16: no Q after it
  EXPECT_EQ(entry(s, kConv2).precision, Precision::kBf16);
  EXPECT_EQ(entry(s, kConv5).precision, Precision::kFp32);
  EXPECT_EQ(entry(s, kConv5).wbits, 4);
  EXPECT_EQ(entry(s, kFc1).precision, Precision::kBf16);
  EXPECT_EQ(entry(s, kFc1).wbits, 4);
}

// Hand-built QDQ graphs (tests/evaluator/graph_builder.hpp): an s8 input, a residual read as
// float keeps the QuantizeLinear a step of its own.
TEST(DescribeQdq, FloatResidualKeepsTheQuantizeApart) {
  ac::testing::GraphBuilder b({1, 8, 5, 5});
  auto f = b.conv("x", 8, 1);
  b.quantize_weights(true);
  auto y = b.quantize(b.binary("Add", b.conv(b.qdq(f, 0.1f, DType::kInt8), 8, 1), f), 0.2f,
                      DType::kInt8);
  const ac::Graph g = b.finish({b.dequantize(y)});
  expect_mirrors_fusion(g);
  const auto s = ac::describe(g, 1, ac::graph_precisions(g));
  ASSERT_EQ(s.size(), 5u);  // float conv, Q, int8 conv + float sum, Q, DQ
  EXPECT_EQ(s[2].precision, Precision::kInt8);
  EXPECT_TRUE(s[2].s8_in);
  EXPECT_TRUE(s[2].residual);
  EXPECT_EQ(s[2].obits, 32);
  EXPECT_EQ(s[3].kind, LayerKind::kReorder);
  EXPECT_TRUE(s[3].s8_out);
  EXPECT_EQ(s[3].abits, 32);
}

TEST(DescribeQdq, SignedSidesRoundTripInTheSignature) {
  ac::LayerDesc d;
  d.kind = LayerKind::kConv;
  d.precision = Precision::kInt8;
  d.wbits = 4, d.abits = 8, d.obits = 8, d.s8_in = true;
  const std::string key = ac::layer_key(d);
  EXPECT_NE(key.find("|s8=10"), std::string::npos) << key;
  const auto back = ac::parse_signature(ac::layer_signature({d, 1, {"cpu", "2.6.0"}}));
  EXPECT_EQ(ac::layer_key(back.layer), key);
  d.s8_in = false;  // all-u8 and float layers keep the older form
  EXPECT_EQ(ac::layer_key(d).find("s8="), std::string::npos);
}

// The measured steps match the schedule: every layer and Q/DQ step of an int8 recipe gets a time.
TEST(DescribeQdq, MeasureTimesEveryEntryOfAnInt8Model) {
  auto modes = all(Precision::kInt8, 4);
  modes[kConv5] = {Precision::kBf16, 8};
  const ac::Graph q = ac::runnable_model(with_modes(modes));
  const auto s = ac::describe(q, 2, ac::graph_precisions(q));
  const auto m = ac::measure(q, s, {2, 1, 1});
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k].kind != LayerKind::kReorder || s[k].graph_op) {
      EXPECT_GT(m.layer_s[k], 0) << s[k].name;
    }
  }
}

}  // namespace
