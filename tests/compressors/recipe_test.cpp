// Recipes: parse / write round trip, and every bad recipe with a clear message naming the field
// and the value.
#include "compressors/recipe.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "compressors/apply.hpp"
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
  const std::string m = parse_error(R"({"format":"autocompress-recipe","version":3})");
  EXPECT_NE(m.find("version: unsupported version 3 (this build reads versions 1 to 2)"),
            std::string::npos)
      << m;
}

// An old recipe file written before version 2 (tests/hwmodels, kept as it was) still reads.
TEST(Recipe, Version1FixtureStillReads) {
  const Recipe r = load_recipe(kSrc + "/tests/hwmodels/fashion_int8_recipe.json");
  EXPECT_EQ(r.defaults.precision, Precision::kInt8);
  EXPECT_EQ(r.layers.at("/expand/expand.0/Conv").wbits, 4);
  EXPECT_FALSE(r.calibration);
  EXPECT_NE(recipe_to_json(r).find("\"version\": 2"), std::string::npos);  // written as 2
  const std::string m =
      parse_error(R"({"format":"autocompress-recipe","version":1,"model_sha256":")" + kHash +
                  R"(","calibration":{}})");
  EXPECT_NE(m.find("calibration: unknown field"), std::string::npos) << m;
  EXPECT_NE(m.find("calibration from version 2 on"), std::string::npos) << m;
}

CalibrationRecord some_record() {
  CalibrationRecord c;
  c.data.source = "calib images/";
  c.data.limit = 300;
  c.data.preprocessing.resize = {72};
  c.data.preprocessing.center_crop = {64};
  c.data.preprocessing.norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  c.fingerprint = Fingerprint{300, 123456, "00112233aabbccdd"};
  c.ls_reconstruction = false;
  c.channel_multiple = 8;
  c.positions_per_image = 5;
  c.seed = 4000000000u;
  c.histogram_bins = 512;
  c.extra_images = 64;
  return c;
}

TEST(Recipe, Version2CalibrationRecordRoundTrip) {
  Recipe r;
  r.model_sha256 = kHash;
  r.defaults.precision = Precision::kInt8;
  r.calibration = some_record();
  const std::string text = recipe_to_json(r);
  const Recipe back = parse_recipe(text, "r.json");
  ASSERT_TRUE(back.calibration);
  EXPECT_EQ(recipe_to_json(back), text);
  const CalibrationRecord &a = *r.calibration, &b = *back.calibration;
  EXPECT_EQ(b.data.source, a.data.source);
  EXPECT_EQ(b.data.limit, a.data.limit);
  EXPECT_EQ(b.data.preprocessing.norm.std, a.data.preprocessing.norm.std);
  EXPECT_EQ(b.data.preprocessing.center_crop, a.data.preprocessing.center_crop);
  EXPECT_EQ(b.fingerprint, a.fingerprint);
  EXPECT_EQ(b.seed, a.seed);
  EXPECT_EQ(b.channel_multiple, 8);
  EXPECT_FALSE(b.ls_reconstruction);
  // The record's settings are the options apply runs with, and back.
  const ApplyOptions o = apply_options(b);
  EXPECT_EQ(o.prune.channel_multiple, 8);
  EXPECT_FALSE(o.ls_reconstruction);
  EXPECT_EQ(o.recover.positions_per_image, 5);
  EXPECT_EQ(o.recover.seed, 4000000000u);
  EXPECT_EQ(o.calib.bins, 512);
  EXPECT_EQ(o.extra_calib_images, 64);
  CalibrationRecord again = calibration_record(b.data, o);
  again.fingerprint = b.fingerprint;
  EXPECT_EQ(calibration_record_json(again), calibration_record_json(b));
}

TEST(Recipe, RecordDefaultsAreApplyOptionsDefaults) {
  const ApplyOptions d;
  const CalibrationRecord c;
  const ApplyOptions o = apply_options(c);
  EXPECT_EQ(o.prune.channel_multiple, d.prune.channel_multiple);
  EXPECT_EQ(o.ls_reconstruction, d.ls_reconstruction);
  EXPECT_EQ(o.recover.positions_per_image, d.recover.positions_per_image);
  EXPECT_EQ(o.recover.seed, d.recover.seed);
  EXPECT_EQ(o.calib.bins, d.calib.bins);
  EXPECT_EQ(o.extra_calib_images, d.extra_calib_images);
  // a record with only its data takes them
  const CalibrationRecord p = parse_calibration_record({{"data", {{"source", "x.npy"}}}}, "r.json");
  EXPECT_EQ(calibration_record_json(p), calibration_record_json(calibration_record(p.data, d)));
}

TEST(Recipe, BadCalibrationRecordNamesTheField) {
  Recipe r;
  r.model_sha256 = kHash;
  r.calibration = some_record();
  const auto with = [&](const std::string& field, const nlohmann::json& v) {
    nlohmann::json j = nlohmann::json::parse(recipe_to_json(r));
    j["calibration"][field] = v;
    return j.dump();
  };
  std::string m = parse_error(with("colour", 1));
  EXPECT_NE(m.find("r.json: calibration.colour: unknown field"), std::string::npos) << m;
  m = parse_error(with("channel_multiple", 0));
  EXPECT_NE(m.find("calibration.channel_multiple: must be an integer in [1, 1024], got 0"),
            std::string::npos)
      << m;
  m = parse_error(with("ls_reconstruction", "yes"));
  EXPECT_NE(m.find("calibration.ls_reconstruction: must be true or false"), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(recipe_to_json(r));
  j["calibration"].erase("data");
  m = parse_error(j.dump());
  EXPECT_NE(m.find("calibration.data: missing"), std::string::npos) << m;
  // a bad data spec inside is a data error (exit code 5) naming the file and the field
  try {
    parse_recipe(with("data", {{"source", "x"}, {"limit", "all"}}), "r.json");
    ADD_FAILURE() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(e.exit_code(), 5);
    EXPECT_NE(std::string(e.what()).find("r.json: field 'calibration.data.limit'"),
              std::string::npos)
        << e.what();
  }
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
