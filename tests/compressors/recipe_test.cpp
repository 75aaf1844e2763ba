// Recipes: parse / write round trip, and every bad recipe with a clear message naming the field
// and the value.
#include "compressors/recipe.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

const std::string kSrc = AC_SOURCE_DIR;
const std::string kModel = kSrc + "/examples/fashion_cnn.onnx";
const std::string kHash(64, 'a');

std::string recipe_text(const std::string& layers, const std::string& defaults = "{}",
                        const std::string& hash = kHash) {
  return R"({"format":"autocompress-recipe","version":1,"model_sha256":")" + hash +
         R"(","defaults":)" + defaults + R"(,"layers":)" + layers + "}";
}

// The message of the RecipeError thrown by `f` (fails the test when none is thrown).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const RecipeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    return e.what();
  }
  ADD_FAILURE() << "no RecipeError";
  return "";
}

std::string parse_error(const std::string& text) {
  return error_of([&] { parse_recipe(text, "r.json"); });
}

class RecipeOnModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_ = new Graph(load_onnx(kModel));
    hash_ = new std::string(sha256_file(kModel));
  }
  static void TearDownTestSuite() { delete g_, delete hash_; }
  std::string validate_error(const std::string& layers, const std::string& defaults = "{}",
                             std::optional<std::set<Precision>> legal = std::nullopt) {
    Recipe r = parse_recipe(recipe_text(layers, defaults, *hash_), "r.json");
    return error_of([&] { validate_recipe(r, *g_, {*hash_, legal}); });
  }
  static Graph* g_;
  static std::string* hash_;
};
Graph* RecipeOnModel::g_ = nullptr;
std::string* RecipeOnModel::hash_ = nullptr;

TEST(Recipe, ParsesDefaultsAndPartialLayerEntries) {
  const Recipe r = parse_recipe(
      recipe_text(R"({"a":{"prune":0.5},"b":{"precision":"int8"}})", R"({"wbits":6,"rank":0.5})"));
  EXPECT_EQ(r.model_sha256, kHash);
  EXPECT_EQ(r.settings("a"), (LayerSettings{0.5, Precision::kFp32, 6, 0.5}));
  EXPECT_EQ(r.settings("b"), (LayerSettings{0, Precision::kInt8, 6, 0.5}));
  EXPECT_EQ(r.settings("other"), (LayerSettings{0, Precision::kFp32, 6, 0.5}));
}

TEST(Recipe, RoundTripsThroughJson) {
  Recipe r = parse_recipe(
      recipe_text(R"({"a":{"prune":0.25,"wbits":4},"b":{"rank":0.5}})", R"({"precision":"bf16"})"));
  r.metrics = {{"top1", 0.91}};
  const Recipe back = parse_recipe(recipe_to_json(r));
  EXPECT_EQ(back.defaults, r.defaults);
  EXPECT_EQ(back.layers, r.layers);
  EXPECT_EQ(back.metrics, r.metrics);
  EXPECT_EQ(recipe_to_json(back), recipe_to_json(r));
}

TEST(Recipe, MalformedJson) {
  const std::string m = parse_error(R"({"format": "autocompress-recipe", )");
  EXPECT_NE(m.find("r.json: malformed JSON"), std::string::npos) << m;
}

TEST(Recipe, WrongFormatOrVersion) {
  EXPECT_NE(parse_error(R"({"format":"x","version":1})").find("format: must be"),
            std::string::npos);
  const std::string m = parse_error(R"({"format":"autocompress-recipe","version":2})");
  EXPECT_NE(m.find("version: unsupported version 2"), std::string::npos) << m;
}

TEST(Recipe, BadHashString) {
  const std::string m = parse_error(recipe_text("{}", "{}", "abc"));
  EXPECT_NE(m.find("model_sha256: must be 64 lower-case hex digits"), std::string::npos) << m;
}

TEST(Recipe, ValuesOutOfRange) {
  struct Case {
    std::string entry, expect;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"prune":1.0})",
            "layers.x.prune: must be in [0, 0.9] (fraction of output "
            "channels removed), got 1.0"},
           {R"({"prune":-0.1})", "layers.x.prune: must be in [0, 0.9]"},
           {R"({"wbits":1})", "layers.x.wbits: must be an integer in 2..8, got 1"},
           {R"({"wbits":9})", "layers.x.wbits: must be an integer in 2..8, got 9"},
           {R"({"wbits":4.5})", "layers.x.wbits: must be an integer in 2..8, got 4.5"},
           {R"({"rank":0})", "layers.x.rank: must be in (0, 1], got 0"},
           {R"({"rank":1.5})", "layers.x.rank: must be in (0, 1], got 1.5"},
           {R"({"precision":"fp16"})", R"(layers.x.precision: must be one of "fp32", "bf16", )"
                                       R"("int8", got "fp16")"},
           {R"({"prune":"half"})", R"(layers.x.prune: must be a number, got "half")"},
           {R"({"prunee":0.5})", "layers.x.prunee: unknown field"},
       }) {
    const std::string m = parse_error(recipe_text(R"({"x":)" + c.entry + "}"));
    EXPECT_NE(m.find("r.json: " + c.expect), std::string::npos) << c.entry << " -> " << m;
  }
  EXPECT_NE(parse_error(recipe_text("{}", R"({"prune":0.95})")).find("defaults.prune: must be"),
            std::string::npos);
}

TEST_F(RecipeOnModel, AcceptsAValidRecipe) {
  Recipe r = parse_recipe(recipe_text(
      R"({"/stem/stem.0/Conv":{"prune":0.5},"/res/conv2/conv2.0/Conv":{"prune":0.5},
          "/fc1/Gemm":{"precision":"int8"}})",
      "{}", *hash_));
  EXPECT_NO_THROW(validate_recipe(r, *g_, {*hash_, std::nullopt}));
  const auto ratios = group_prune_ratios(r, dependency_groups(*g_));
  ASSERT_EQ(ratios.size(), 1u);
  EXPECT_EQ(ratios.begin()->first, 0);
  EXPECT_EQ(ratios.begin()->second, 0.5);
}

TEST_F(RecipeOnModel, DefaultPruneSkipsTheOutputLayer) {
  Recipe r = parse_recipe(recipe_text("{}", R"({"prune":0.5})", *hash_));
  EXPECT_NO_THROW(validate_recipe(r, *g_, {*hash_, std::nullopt}));
  EXPECT_EQ(group_prune_ratios(r, dependency_groups(*g_)).size(), 6u);  // all but fc2's group
}

TEST_F(RecipeOnModel, WrongModelHash) {
  Recipe r = parse_recipe(recipe_text("{}", "{}", kHash), "r.json");
  const std::string m = error_of([&] { validate_recipe(r, *g_, {*hash_, std::nullopt}); });
  EXPECT_NE(m.find("r.json: model_sha256: recipe was made for model " + kHash), std::string::npos)
      << m;
  EXPECT_NE(m.find(*hash_), std::string::npos) << m;
}

TEST_F(RecipeOnModel, UnknownLayerListsKnownOnes) {
  const std::string m = validate_error(R"({"/nope/Conv":{"prune":0.5}})");
  EXPECT_NE(m.find("layers./nope/Conv: unknown layer"), std::string::npos) << m;
  EXPECT_NE(m.find("/stem/stem.0/Conv"), std::string::npos) << m;
}

TEST_F(RecipeOnModel, IllegalModeForTheTarget) {
  const std::string m = validate_error(R"({"/fc1/Gemm":{"precision":"bf16"}})", "{}",
                                       std::set<Precision>{Precision::kFp32, Precision::kInt8});
  EXPECT_NE(m.find(R"(layers./fc1/Gemm.precision: mode "bf16" is not supported by the target )"
                   R"((legal: fp32, int8))"),
            std::string::npos)
      << m;
  EXPECT_NE(validate_error("{}", R"({"precision":"int8"})", std::set<Precision>{Precision::kFp32})
                .find("defaults.precision"),
            std::string::npos);
}

TEST_F(RecipeOnModel, GroupMembersMustAgree) {
  const std::string m = validate_error(R"({"/stem/stem.0/Conv":{"prune":0.5}})");
  EXPECT_NE(m.find("must share one prune value; group 0 (/stem/stem.0/Conv, "
                   "/res/conv2/conv2.0/Conv) has /stem/stem.0/Conv=0.5, "
                   "/res/conv2/conv2.0/Conv=0"),
            std::string::npos)
      << m;
}

TEST_F(RecipeOnModel, DepthwiseFollowerMustAgreeWithItsProducer) {
  const std::string m = validate_error(R"({"/dsep/dw/dw.0/Conv":{"prune":0.5}})");
  EXPECT_NE(m.find("/expand/expand.0/Conv=0, /dsep/dw/dw.0/Conv=0.5"), std::string::npos) << m;
}

TEST_F(RecipeOnModel, OutputLayerCannotBePruned) {
  const std::string m = validate_error(R"({"/fc2/Gemm":{"prune":0.5}})");
  EXPECT_NE(m.find("layers./fc2/Gemm.prune: layer cannot be pruned"), std::string::npos) << m;
  EXPECT_NE(m.find("output layer"), std::string::npos) << m;
}

}  // namespace
}  // namespace autocompress
