#include "hwmodels/measure.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "common/error.hpp"
#include "layer_builders.hpp"
#include "model/onnx_io.hpp"
#include "tests/common/temp_dir.hpp"

namespace ac = autocompress;
using ac::LayerKind;

namespace {

ac::SignedLayer signed_conv() {
  ac::SignedLayer s{
      ac::testing::conv(3, 24, 32, 3), 2, {"AMD EPYC 9R14 96-Core Processor", "2.6.0"}};
  s.layer.name.clear();
  s.layer.batch = 64;
  s.layer.stride = 2;
  s.layer.h_out = s.layer.w_out = 16;
  s.layer.taps = 8.3359375;
  s.layer.residual = true;
  return s;
}

void expect_same(const ac::SignedLayer& a, const ac::SignedLayer& b) {
  const auto &x = a.layer, &y = b.layer;
  EXPECT_EQ(x.kind, y.kind);
  EXPECT_EQ(x.batch, y.batch);
  EXPECT_EQ(x.c_in, y.c_in);
  EXPECT_EQ(x.c_out, y.c_out);
  EXPECT_EQ(x.h_in, y.h_in);
  EXPECT_EQ(x.w_in, y.w_in);
  EXPECT_EQ(x.h_out, y.h_out);
  EXPECT_EQ(x.w_out, y.w_out);
  EXPECT_EQ(x.kh, y.kh);
  EXPECT_EQ(x.kw, y.kw);
  EXPECT_EQ(x.stride, y.stride);
  EXPECT_EQ(x.groups, y.groups);
  EXPECT_EQ(x.taps, y.taps);  // exactly: the signature prints the shortest round-trip form
  EXPECT_EQ(x.inputs, y.inputs);
  EXPECT_EQ(x.residual, y.residual);
  EXPECT_EQ(x.precision, y.precision);
  EXPECT_EQ(x.wbits, y.wbits);
  EXPECT_EQ(x.abits, y.abits);
  EXPECT_EQ(x.obits, y.obits);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.host.cpu, b.host.cpu);
  EXPECT_EQ(a.host.onednn, b.host.onednn);
}

TEST(Signature, RoundTrips) {
  const auto s = signed_conv();
  const std::string sig = ac::layer_signature(s);
  EXPECT_EQ(sig.find(','), std::string::npos) << sig;
  expect_same(ac::parse_signature(sig), s);
  EXPECT_EQ(ac::layer_signature(ac::parse_signature(sig)), sig);
}

TEST(Signature, RoundTripsEveryKindAndPrecision) {
  for (int k = 0; k < 8; ++k)
    for (auto p : {ac::Precision::kFp32, ac::Precision::kBf16, ac::Precision::kInt8}) {
      auto s = signed_conv();
      s.layer.kind = LayerKind(k);
      s.layer.precision = p;
      s.layer.wbits = 4;
      expect_same(ac::parse_signature(ac::layer_signature(s)), s);
    }
}

TEST(Signature, NameIsNotPartOfIt) {
  auto a = signed_conv(), b = signed_conv();
  a.layer.name = "/a/Conv";
  b.layer.name = "/b/Conv";
  EXPECT_EQ(ac::layer_signature(a), ac::layer_signature(b));
}

TEST(Signature, DiffersByShapeThreadsAndHost) {
  const auto base = ac::layer_signature(signed_conv());
  auto s = signed_conv();
  s.layer.c_out = 32;
  EXPECT_NE(ac::layer_signature(s), base);
  s = signed_conv();
  s.threads = 1;
  EXPECT_NE(ac::layer_signature(s), base);
  s = signed_conv();
  s.host.onednn = "3.0.0";
  EXPECT_NE(ac::layer_signature(s), base);
}

TEST(Signature, HostStringsCannotBreakTheFormat) {
  auto s = signed_conv();
  s.host.cpu = "Weird, CPU | 3GHz";
  const auto sig = ac::layer_signature(s);
  EXPECT_EQ(sig.find(','), std::string::npos);
  EXPECT_EQ(ac::parse_signature(sig).host.cpu, "Weird  CPU   3GHz");
}

TEST(Signature, MalformedNamesTheField) {
  std::string sig = ac::layer_signature(signed_conv());
  const auto c = sig.find("|c=");
  sig.replace(c, 3, "|c=x");
  try {
    ac::parse_signature(sig, "layers.csv:3");
    FAIL() << "accepted " << sig;
  } catch (const ac::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("layers.csv:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'c'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ac::parse_signature("nonsense|b=1"), ac::DataError);
  EXPECT_THROW(ac::parse_signature("conv|b=1|fp32"), ac::DataError);  // fields missing
}

TEST(ThisHost, KnowsCpuAndOneDnn) {
  const auto& h = ac::this_host();
  EXPECT_FALSE(h.cpu.empty());
  EXPECT_EQ(h.onednn.rfind("2.", 0), 0u) << h.onednn;  // Debian 12: oneDNN 2.6
}

// No timing thresholds: these machines are noisy. Only structure and positivity.
TEST(Measure, FashionCnnOneEntryPerLayerWithPositiveTimes) {
  const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/examples/fashion_cnn.onnx");
  const auto schedule = ac::describe(g, 2);
  const auto m = ac::measure(g, schedule, {2, 1, 3});
  ASSERT_EQ(m.layer_s.size(), schedule.size());
  ASSERT_EQ(m.signatures.size(), schedule.size());
  double layers = 0;
  for (size_t k = 0; k < schedule.size(); ++k) {
    const auto kind = schedule[k].kind;
    if (kind == LayerKind::kConv || kind == LayerKind::kDepthwise || kind == LayerKind::kGemm ||
        kind == LayerKind::kPool) {
      EXPECT_GT(m.layer_s[k], 0) << schedule[k].name;
    }
    layers += m.layer_s[k];
    const auto back = ac::parse_signature(m.signatures[k]);
    EXPECT_EQ(back.layer.c_out, schedule[k].c_out);
    EXPECT_EQ(back.layer.batch, 2);
    EXPECT_EQ(back.threads, 1);
  }
  EXPECT_GT(m.model_s, 0);
  EXPECT_GE(m.reorder_s, 0);
  EXPECT_GE(m.other_s, 0);
  // Every step's median lands in exactly one bucket.
  EXPECT_NEAR(m.steps_s, layers + m.reorder_s + m.other_s, 1e-12 + 1e-9 * m.steps_s);
  EXPECT_GE(m.steps_s, layers);
}

TEST(Measure, RejectsZeroRepeats) {
  const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/examples/fashion_cnn.onnx");
  EXPECT_THROW(ac::measure(g, ac::describe(g, 1), {1, 1, 0}), ac::UsageError);
}

}  // namespace

namespace {

TEST(MeasureCached, MeasuresOnceThenReadsTheCache) {
  const ac::testing::TempDir tmp("ac_measure_cached");
  const std::string dir = tmp.str();
  {
    ac::MeasureCache cache(dir + "/m.db");
    const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/examples/fashion_cnn.onnx");
    const auto schedule = ac::describe(g, 2);
    const auto first = ac::measure_cached(g, schedule, {2, 1, 2}, cache);
    ASSERT_EQ(first.size(), schedule.size());
    // fp32 fashion_cnn: no reorder layers; every layer (also under its weights context when this
    // host's L3 size is known: 1 MB of weights fit) and the whole-model sample.
    const bool context = ac::host_llc_bytes() > 0;
    EXPECT_EQ(cache.all().size(), schedule.size() * (context ? 2 : 1) + 1);
    if (context) {
      EXPECT_TRUE(cache.get(ac::layer_signature([&] {
        auto s = ac::parse_signature(cache.all()[0].signature);
        s.layer.llc = 1;
        return s;
      }())));
    }
    // Exactly equal the second time: read back, not measured again.
    EXPECT_EQ(ac::measure_cached(g, schedule, {2, 1, 2}, cache), first);
    for (const auto& e : cache.all()) EXPECT_EQ(e.repeats, 2);
  }
}

}  // namespace
