// The compression space of the example model on the host target: knobs, exact candidate <->
// recipe <-> params mapping, overrides.
#include "search/study/space_builder.hpp"

#include <gtest/gtest.h>

#include <random>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

const std::string kModel = std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx";

struct Fixture {
  Graph g = load_onnx(kModel);
  std::string sha = sha256_file(kModel);
  Profile host = find_profile("host");
};

const Fixture& fx() {
  static const Fixture f;
  return f;
}

Candidate random_candidate(const SearchSpace& s, std::mt19937& rng) {
  Candidate c(s.size());
  for (size_t j = 0; j < c.size(); ++j)
    c[j] = s.knobs[j].fixed >= 0 ? s.knobs[j].fixed : int(rng() % s.knobs[j].levels.size());
  return c;
}

size_t count(const SearchSpace& s, Knob::Type t) {
  return size_t(
      std::count_if(s.knobs.begin(), s.knobs.end(), [&](const Knob& k) { return k.type == t; }));
}

TEST(SpaceBuilder, ExampleModelKnobs) {
  const auto s = build_compression_space(fx().g, fx().sha, fx().host);
  const size_t layers = weighted_layers(fx().g).size();
  EXPECT_EQ(count(s.space, Knob::Type::kPrecision), layers);  // host: fp32, bf16, int8
  EXPECT_EQ(count(s.space, Knob::Type::kWbits), layers);
  EXPECT_GT(count(s.space, Knob::Type::kPrune), 0u);
  EXPECT_GT(count(s.space, Knob::Type::kRank), 0u);
  for (const auto& k : s.space.knobs) {
    EXPECT_GE(k.levels.size(), 2u) << k.name;
    if (k.type == Knob::Type::kPrecision) {
      EXPECT_EQ(std::get<std::string>(k.levels[0]), "fp32");
    }
    if (k.type == Knob::Type::kPrune) {
      EXPECT_EQ(std::get<double>(k.levels[0]), 0.0);
    }
  }
  // The output layer is never pruned; the depthwise conv follows its producer's knob.
  for (const auto& k : s.space.knobs) EXPECT_NE(k.name, "/fc2/Gemm/prune");
}

TEST(SpaceBuilder, CandidateRecipeParamsRoundTripExactly) {
  const auto s = build_compression_space(fx().g, fx().sha, fx().host);
  std::mt19937 rng(7);
  RecipeCheck check{fx().sha,
                    std::set<Precision>{Precision::kFp32, Precision::kBf16, Precision::kInt8}};
  for (int i = 0; i < 50; ++i) {
    const Candidate c = random_candidate(s.space, rng);
    const Recipe r = candidate_to_recipe(s, c);
    EXPECT_NO_THROW(validate_recipe(r, fx().g, check));
    EXPECT_EQ(candidate_from_recipe(s, r), c);
    EXPECT_EQ(candidate_from_recipe(s, parse_recipe(recipe_to_json(r))), c);
    EXPECT_EQ(candidate_from_params(s, candidate_params(s, c)), c);
  }
  // Index 0 everywhere is the unchanged model.
  const Recipe zero = candidate_to_recipe(s, Candidate(s.space.size(), 0));
  for (const auto& l : s.layers) EXPECT_EQ(zero.settings(l), LayerSettings{}) << l;
}

TEST(SpaceBuilder, RulesKeepFloatFreezeAndLevels) {
  SpaceOptions o;
  o.rules.push_back({"/fc*", "", true, std::nullopt, {}});
  o.rules.push_back({"*", "rank", false, KnobValue(1.0), {}});
  o.rules.push_back({"/stem/*", "wbits", false, std::nullopt, {8.0, 4.0}});
  const auto s = build_compression_space(fx().g, fx().sha, fx().host, o);
  for (const auto& k : s.space.knobs) {
    if (k.name.rfind("/fc", 0) == 0) {
      EXPECT_EQ(k.fixed, 0) << k.name;
    }
    if (k.type == Knob::Type::kRank) {
      EXPECT_EQ(k.fixed, 0) << k.name;
    }
    if (k.name == "/stem/stem.0/Conv/wbits") {
      EXPECT_EQ(k.levels.size(), 2u);
    }
  }
  std::mt19937 rng(1);
  const Candidate c = random_candidate(s.space, rng);
  EXPECT_EQ(candidate_to_recipe(s, c).settings("/fc1/Gemm"), LayerSettings{});
  Candidate moved = c;
  for (size_t j = 0; j < moved.size(); ++j)
    if (s.space.knobs[j].name == "/fc1/Gemm/precision") moved[j] = 2;
  EXPECT_THROW(candidate_to_recipe(s, moved), UsageError);
}

TEST(SpaceBuilder, BadRulesAreErrors) {
  SpaceOptions o;
  o.rules.push_back({"/no/such/layer", "", true, std::nullopt, {}});
  EXPECT_THROW(build_compression_space(fx().g, fx().sha, fx().host, o), UsageError);
  o.rules = {{"*", "prune", false, KnobValue(0.33), {}}};
  EXPECT_THROW(build_compression_space(fx().g, fx().sha, fx().host, o), UsageError);
  o.rules = {{"*", "precision", false, std::nullopt, {std::string("fp8")}}};
  EXPECT_THROW(build_compression_space(fx().g, fx().sha, fx().host, o), UsageError);
  EXPECT_THROW(parse_space_options(nlohmann::json::parse(R"({"prune_level": [0]})")), UsageError);
  const auto back = parse_space_options(space_options_json(o));
  EXPECT_EQ(back.rules.size(), 1u);
}

TEST(SpaceBuilder, UniformBaselines) {
  const auto s = build_compression_space(fx().g, fx().sha, fx().host);
  const auto int8 = uniform_candidate(s, Knob::Type::kPrecision, std::string("int8"));
  ASSERT_TRUE(int8);
  const Recipe r = candidate_to_recipe(s, *int8);
  for (const auto& l : s.layers) EXPECT_EQ(r.settings(l).precision, Precision::kInt8);
  EXPECT_FALSE(uniform_candidate(s, Knob::Type::kPrecision, std::string("fp8")));
  const auto half = uniform_candidate(s, Knob::Type::kPrune, 0.5);
  ASSERT_TRUE(half);
  EXPECT_EQ(candidate_to_recipe(s, *half).settings("/conv5/conv5.0/Conv").prune, 0.5);
}

}  // namespace
}  // namespace autocompress
