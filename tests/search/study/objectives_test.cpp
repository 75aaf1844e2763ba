// Known objectives without building the model equal what describe() and the size accounting
// give on the graph compressors/apply actually builds.
#include "search/study/objectives.hpp"

#include <gtest/gtest.h>

#include <random>

#include "common/sha256.hpp"
#include "compressors/apply.hpp"
#include "evaluator/evaluate.hpp"
#include "model/onnx_io.hpp"
#include "search/study/space_builder.hpp"

namespace autocompress {
namespace {

const std::string kModel = std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx";

struct Fixture {
  Graph g = load_onnx(kModel);
  Profile host = find_profile("host");
  CompressionSpace space = build_compression_space(g, sha256_file(kModel), host);
  ApplyContext ctx{g,
                   load_mnist_dir("/usr/share/datasets/fashion-mnist", Split::kTrain,
                                  model_normalization(g), 64),
                   [] {
                     ApplyOptions o;
                     o.extra_calib_images = 32;
                     return o;
                   }()};
  ObjectiveModel model{g, host, 1, host.channel_multiple, [this] {
                         std::set<std::string> s;
                         for (const auto& [name, gram] : ctx.ls_stats().layers) s.insert(name);
                         return s;
                       }()};
};

const Fixture& fx() {
  static const Fixture f;
  return f;
}

// The per-layer precisions describe() needs for an applied graph (factor nodes included).
std::map<std::string, LayerPrecision> precisions(const Graph& applied, const Recipe& r) {
  std::map<std::string, LayerPrecision> m;
  for (const auto& n : applied.nodes)
    if (n.op == "Conv" || n.op == "Gemm")
      m[n.name] = layer_precision(r.settings(recipe_layer_of(n.name)));
  return m;
}

void expect_same_weighted(const std::vector<LayerDesc>& a, const std::vector<LayerDesc>& b) {
  std::vector<const LayerDesc*> x, y;
  for (const auto& d : a)
    if (d.kind == LayerKind::kConv || d.kind == LayerKind::kGemm || d.kind == LayerKind::kDepthwise)
      x.push_back(&d);
  for (const auto& d : b)
    if (d.kind == LayerKind::kConv || d.kind == LayerKind::kGemm || d.kind == LayerKind::kDepthwise)
      y.push_back(&d);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i]->name, y[i]->name);
    EXPECT_EQ(x[i]->c_in, y[i]->c_in) << x[i]->name;
    EXPECT_EQ(x[i]->c_out, y[i]->c_out) << x[i]->name;
    EXPECT_EQ(x[i]->h_out, y[i]->h_out) << x[i]->name;
    EXPECT_EQ(x[i]->kh, y[i]->kh) << x[i]->name;
    EXPECT_EQ(x[i]->groups, y[i]->groups) << x[i]->name;
    EXPECT_EQ(x[i]->precision, y[i]->precision) << x[i]->name;
    EXPECT_EQ(x[i]->wbits, y[i]->wbits) << x[i]->name;
  }
}

TEST(Objectives, FloatCandidatesMatchTheAppliedGraphExactly) {
  const auto& s = fx().space;
  std::mt19937 rng(3);
  for (int i = 0; i < 6; ++i) {
    Candidate c(s.space.size());
    for (size_t j = 0; j < c.size(); ++j) {
      const Knob& k = s.space.knobs[j];
      c[j] = int(rng() % k.levels.size());
      if (k.type == Knob::Type::kPrecision) c[j] = std::min(c[j], 1);  // fp32 / bf16
    }
    const Recipe r = candidate_to_recipe(s, c);
    const Graph applied = apply(fx().ctx, r);
    const auto full = describe(applied, 1, precisions(applied, r));
    const auto derived = fx().model.schedule(r);
    ASSERT_EQ(full.size(), derived.size()) << recipe_to_json(r);
    for (size_t l = 0; l < full.size(); ++l) {
      EXPECT_EQ(full[l].name, derived[l].name);
      EXPECT_EQ(full[l].c_in, derived[l].c_in) << full[l].name;
      EXPECT_EQ(full[l].c_out, derived[l].c_out) << full[l].name;
      EXPECT_EQ(full[l].precision, derived[l].precision) << full[l].name;
    }
    const Prediction p = predict(full, fx().host);
    const KnownObjectives k = fx().model.evaluate(r);
    EXPECT_DOUBLE_EQ(k.latency_s, p.latency_s);
    EXPECT_DOUBLE_EQ(k.energy_j, p.energy_pj * 1e-12);
    EXPECT_DOUBLE_EQ(k.size_bytes, packed_size_bytes(applied)) << recipe_to_json(r);
  }
}

TEST(Objectives, Int8CandidatesMatchTheAppliedLayers) {
  const auto& s = fx().space;
  std::mt19937 rng(5);
  for (int i = 0; i < 3; ++i) {
    Candidate c(s.space.size());
    for (size_t j = 0; j < c.size(); ++j) c[j] = int(rng() % s.space.knobs[j].levels.size());
    const Recipe r = candidate_to_recipe(s, c);
    const Graph applied = apply(fx().ctx, r);
    expect_same_weighted(describe(applied, 1, precisions(applied, r)), fx().model.schedule(r));
    EXPECT_DOUBLE_EQ(fx().model.evaluate(r).size_bytes, packed_size_bytes(applied));
  }
}

TEST(Objectives, OriginalModelAndMonotonicity) {
  const auto& s = fx().space;
  const Candidate zero(s.space.size(), 0);
  const Recipe r0 = candidate_to_recipe(s, zero);
  const KnownObjectives k0 = fx().model.evaluate(r0);
  EXPECT_DOUBLE_EQ(k0.latency_s, predict(describe(fx().g, 1), fx().host).latency_s);
  EXPECT_DOUBLE_EQ(k0.size_bytes, packed_size_bytes(fx().g));
  const auto half = uniform_candidate(s, Knob::Type::kPrune, 0.5);
  ASSERT_TRUE(half);
  const KnownObjectives k1 = fx().model.evaluate(candidate_to_recipe(s, *half));
  EXPECT_LT(k1.size_bytes, k0.size_bytes);
  EXPECT_LT(k1.macs, k0.macs);
  const auto w4 = uniform_candidate(s, Knob::Type::kWbits, 4.0);
  EXPECT_LT(fx().model.evaluate(candidate_to_recipe(s, *w4)).size_bytes, k0.size_bytes / 4);
}

}  // namespace
}  // namespace autocompress
