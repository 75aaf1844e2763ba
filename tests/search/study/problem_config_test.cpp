// The problem configuration's table: every field round-trips, the JSON written is the one the
// hand-written writer wrote before the table (studies record it and compare it on open), unknown
// keys list the known ones, range and type errors name the key and the value; and error messages
// that name keys show them as themselves or, for the CLI, as flags.
#include "search/study/problem_config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "search/study/study_options.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

using nlohmann::json;

// The writer as it was before the table, kept as the reference the table must match byte for byte.
json reference_json(const ProblemConfig& c) {
  return {{"model", c.model},
          {"data", c.data},
          {"labels", c.labels},
          {"split", c.split},
          {"calib", c.calib},
          {"calib_split", c.calib_split},
          {"preprocess", c.preprocess},
          {"resize", c.resize},
          {"center_crop", c.center_crop},
          {"mean", c.mean},
          {"std", c.std},
          {"channel_order", c.channel_order},
          {"layout", c.layout},
          {"target", c.target},
          {"objectives", c.objectives},
          {"max_accuracy_drop", c.max_accuracy_drop},
          {"max_latency_ms", c.max_latency_ms},
          {"max_size_mb", c.max_size_mb},
          {"max_energy_mj", c.max_energy_mj},
          {"val_limit", c.val_limit},
          {"calib_limit", c.calib_limit},
          {"chunk", c.chunk},
          {"early_stopping", c.early_stopping},
          {"front_stopping", c.front_stopping},
          {"stop_z", c.stop_z},
          {"latency_batch", c.latency_batch},
          {"eval_batch", c.eval_batch},
          {"recover", c.recover},
          {"latency_model", c.latency_model},
          {"measure_cache", c.measure_cache},
          {"space", space_options_json(c.space)}};
}

// Every field away from its default.
ProblemConfig changed() {
  ProblemConfig c;
  c.model = "m.onnx";
  c.data = "images.idx";
  c.labels = "labels.idx";
  c.split = "test";
  c.calib = "calib.idx";
  c.calib_split = "val";
  c.preprocess = "pre.json";
  c.resize = {256};
  c.center_crop = {224, 200};
  c.mean = {0.485, 0.456, 0.406};
  c.std = {0.5};
  c.channel_order = "BGR";
  c.layout = "NHWC";
  c.target = "bitfusion";
  c.objectives = {"accuracy", "energy"};
  c.max_accuracy_drop = 1.5;
  c.max_latency_ms = 2.25;
  c.max_size_mb = 0.5;
  c.max_energy_mj = 3;
  c.val_limit = 200;
  c.calib_limit = 64;
  c.chunk = 100;
  c.early_stopping = false;
  c.front_stopping = false;
  c.stop_z = 2.5;
  c.latency_batch = 8;
  c.eval_batch = 32;
  c.recover = false;
  c.latency_model = "roofline";
  c.measure_cache = "/tmp/m.db";
  c.space.prune_levels = {0, 0.5};
  c.space.rank = false;
  return c;
}

TEST(ProblemConfigTable, WritesWhatTheOldWriterWrote) {
  EXPECT_EQ(problem_config_json({}).dump(), reference_json({}).dump());
  EXPECT_EQ(problem_config_json(changed()).dump(), reference_json(changed()).dump());
  // Integers stay integers and doubles doubles: the recorded text is compared on open.
  const std::string text = problem_config_json({}).dump();
  EXPECT_NE(text.find("\"chunk\":1000,"), std::string::npos) << text;
  EXPECT_NE(text.find("\"stop_z\":3.0,"), std::string::npos) << text;
}

TEST(ProblemConfigTable, EveryFieldRoundTrips) {
  const json want = problem_config_json(changed());
  const json defaults = problem_config_json({});
  ASSERT_EQ(problem_config_table().fields().size(), want.size());
  for (const auto& f : problem_config_table().fields()) {
    const std::string& k = f.info.key;
    EXPECT_NE(want.at(k), defaults.at(k)) << k << " is not changed by the test";
    const json one = problem_config_json(parse_problem_config({{k, want.at(k)}}));
    for (const auto& [key, v] : one.items())
      EXPECT_EQ(v, key == k ? want.at(k) : defaults.at(key)) << "reading " << k;
  }
  EXPECT_EQ(problem_config_json(parse_problem_config(want)), want);
}

TEST(ProblemConfigTable, ARecordingWithoutLaterKeysReadsWithTheirDefaults) {
  json old = problem_config_json(changed());
  for (const char* k : {"latency_model", "measure_cache", "front_stopping", "space"}) old.erase(k);
  const ProblemConfig c = parse_problem_config(old);
  EXPECT_EQ(c.latency_model, "auto");
  EXPECT_EQ(c.measure_cache, "");
  EXPECT_TRUE(c.front_stopping);
  EXPECT_EQ(space_options_json(c.space), space_options_json({}));
  EXPECT_EQ(c.chunk, 100);
}

TEST(ProblemConfigTable, UnknownKeyListsTheKnownOnes) {
  try {
    parse_problem_config(json::parse(R"({"max_acc_drop": 1})"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "max_acc_drop");
    EXPECT_EQ(std::string(e.what()),
              "config: unknown key 'max_acc_drop' (known: model, data, labels, split, calib, "
              "calib_split, preprocess, resize, center_crop, mean, std, channel_order, layout, "
              "target, objectives, max_accuracy_drop, max_latency_ms, max_size_mb, max_energy_mj, "
              "val_limit, calib_limit, chunk, early_stopping, front_stopping, stop_z, "
              "latency_batch, eval_batch, recover, latency_model, measure_cache, space)");
  }
}

// The key and the message of the error parsing `text` onto the defaults.
std::pair<std::string, std::string> error_of(const std::string& text) {
  try {
    parse_problem_config(json::parse(text));
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return {e.key(), e.what()};
  }
  return {"", "no error"};
}

TEST(ProblemConfigTable, RangeAndTypeErrorsNameKeyAndValue) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(error_of(R"({"chunk": 0})"), P("chunk", "config: chunk must be >= 1, got 0"));
  EXPECT_EQ(error_of(R"({"eval_batch": -2})"),
            P("eval_batch", "config: eval_batch must be >= 1, got -2"));
  EXPECT_EQ(error_of(R"({"val_limit": -1})"),
            P("val_limit", "config: val_limit must be >= 0, got -1"));
  EXPECT_EQ(
      error_of(R"({"latency_model": "fast"})"),
      P("latency_model", "config: latency_model must be auto, measured or roofline, got 'fast'"));
  EXPECT_EQ(error_of(R"({"objectives": ["accuracy"]})"),
            P("objectives", "objectives: need 2 to 4 of accuracy, latency, energy, size, got 1"));
  const auto [key, what] = error_of(R"({"chunk": "many"})");
  EXPECT_EQ(key, "chunk");
  EXPECT_EQ(what.rfind("config: key 'chunk': ", 0), 0u) << what;
  EXPECT_NE(what.find(", got \"many\""), std::string::npos) << what;
  // The checks also run on a config built in code (the CLI's merge validates this way).
  ProblemConfig c;
  c.chunk = 0;
  EXPECT_THROW(parse_problem_config(json::object(), c), ConfigError);
}

TEST(ProblemConfigTable, FlagsAreUniqueAndNamedLikeTheirKeys) {
  std::set<std::string> flags;
  for (const auto& f : problem_config_table().info()) {
    if (f.flag.empty()) continue;
    EXPECT_TRUE(flags.insert(f.flag).second) << f.flag;
    EXPECT_FALSE(f.help.empty()) << f.key;
    EXPECT_EQ(f.flag.rfind("--", 0), 0u) << f.flag;
    if (f.kind == FieldKind::kBool) {
      EXPECT_EQ(f.flag.rfind("--no-", 0), 0u) << f.flag;
    }
  }
  EXPECT_EQ(flags.size(), 26u);
}

TEST(ProblemConfigTable, PreprocessingKeysTakeANumberOrAListAndAreChecked) {
  const ProblemConfig c =
      parse_problem_config(json::parse(R"({"resize": 256, "center_crop": [224, 200],
          "mean": 0.5, "std": [0.229, 0.224, 0.225]})"));
  EXPECT_EQ(c.resize, std::vector<int64_t>{256});
  EXPECT_EQ(c.center_crop, (std::vector<int64_t>{224, 200}));
  EXPECT_EQ(c.mean, std::vector<double>{0.5});
  EXPECT_EQ(problem_config_json(c).at("resize").dump(), "[256]");
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(error_of(R"({"resize": [1, 2, 3]})"),
            P("resize", "config: resize must be S or [H, W] (positive), got [1,2,3]"));
  EXPECT_EQ(error_of(R"({"std": [0]})"),
            P("std", "config: std values must be non-zero, got [0.0]"));
  EXPECT_EQ(error_of(R"({"layout": "CHW"})"),
            P("layout", "config: layout must be NCHW or NHWC, got 'CHW'"));
  EXPECT_EQ(error_of(R"({"split": "dev"})").first, "split");
  EXPECT_EQ(error_of(R"({"mean": "zero"})").first, "mean");
}

// An IDX directory as detect_dir_kind sees it (the file need not be valid).
std::string idx_dir(const testing::TempDir& t) {
  std::filesystem::create_directories(t.file("fmnist"));
  std::ofstream(t.file("fmnist/train-images-idx3-ubyte")) << "x";
  return t.file("fmnist");
}

TEST(DataSpecOfConfig, ValidationAndCalibrationOfAnIdxDirectory) {
  const testing::TempDir t("ac_spec");
  ProblemConfig c;
  c.data = idx_dir(t);
  c.val_limit = 200;
  c.calib_limit = 64;
  const Normalization model{{0.286f}, {0.353f}};
  const DataSpec v = validation_spec(c, model);
  EXPECT_EQ(v.source, c.data);
  ASSERT_TRUE(v.split);
  EXPECT_EQ(*v.split, Split::kVal);
  EXPECT_EQ(v.limit, 200);
  EXPECT_EQ(v.preprocessing.norm.mean, std::vector<float>{0.286f});  // the model's metadata
  const DataSpec k = calibration_spec(c, model);
  EXPECT_EQ(k.source, c.data);  // no calib: the directory's train split
  ASSERT_TRUE(k.split);
  EXPECT_EQ(*k.split, Split::kTrain);
  EXPECT_EQ(k.limit, 64);
  EXPECT_TRUE(k.labels.empty());
}

TEST(DataSpecOfConfig, FilesAndFoldersHaveNoSplitAndTheConfigsPreprocessing) {
  ProblemConfig c;
  c.data = "val_x.npy";
  c.labels = "val_y.npy";
  c.calib = "images/";
  c.resize = {72};
  c.center_crop = {64};
  c.mean = {0.485, 0.456, 0.406};
  c.channel_order = "BGR";
  c.layout = "NHWC";
  const DataSpec v = validation_spec(c, {{0.1f}, {0.2f}});
  EXPECT_FALSE(v.split);
  EXPECT_EQ(v.labels, "val_y.npy");
  EXPECT_EQ(v.preprocessing.resize, std::vector<int64_t>{72});
  EXPECT_EQ(v.preprocessing.center_crop, std::vector<int64_t>{64});
  EXPECT_EQ(v.preprocessing.norm.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(v.preprocessing.norm.std, std::vector<float>{0.2f});  // std left to the model
  EXPECT_EQ(v.preprocessing.order, ChannelOrder::kBgr);
  EXPECT_EQ(v.preprocessing.layout, Layout::kNhwc);
  const DataSpec k = calibration_spec(c);
  EXPECT_EQ(k.source, "images/");
  EXPECT_FALSE(k.split);
  EXPECT_TRUE(k.labels.empty());
  EXPECT_EQ(k.preprocessing.order, ChannelOrder::kBgr);
  // A split that is not the default is kept, so that open_dataset refuses it for a file.
  c.split = "test";
  EXPECT_TRUE(validation_spec(c).split);
}

TEST(DataSpecOfConfig, APreprocessingFileFillsTheFieldsLeftAtTheirDefaults) {
  const testing::TempDir t("ac_spec");
  const std::string file = t.file("pre.json");
  std::ofstream(file) << R"({"resize": 256, "center_crop": 224, "mean": [0.485, 0.456, 0.406],
      "std": [0.229, 0.224, 0.225], "channel_order": "BGR", "layout": "NHWC"})";
  ProblemConfig c;
  c.preprocess = file;
  c.center_crop = {200};  // given besides the file: kept
  const ProblemConfig r = with_preprocess_file(c);
  EXPECT_EQ(r.resize, std::vector<int64_t>{256});
  EXPECT_EQ(r.center_crop, std::vector<int64_t>{200});
  EXPECT_EQ(r.mean, (std::vector<double>{0.485, 0.456, 0.406}));  // as written, not as floats
  EXPECT_EQ(r.channel_order, "BGR");
  EXPECT_EQ(r.layout, "NHWC");
  EXPECT_EQ(r.preprocess, file);
  EXPECT_EQ(problem_config_json(with_preprocess_file(r)), problem_config_json(r));
  std::ofstream(file) << R"({"resise": 256})";
  EXPECT_THROW(with_preprocess_file(c), DataError);
  EXPECT_EQ(problem_config_json(with_preprocess_file({})), problem_config_json({}));
}

TEST(StudyOptionsTable, ReadsDurationsAndSettingsObjects) {
  const StudyOptions o = parse_study_options(json::parse(
      R"({"study": "s", "timeout": "1.5h", "sampler_settings": {"a": 1}, "warm_start": false,
          "seed": 7, "trials": 20, "workers": 2, "sampler": "nsga2"})"));
  EXPECT_EQ(o.name, "s");
  EXPECT_DOUBLE_EQ(o.timeout_s, 5400);
  EXPECT_EQ(o.sampler_settings, R"({"a":1})");
  EXPECT_FALSE(o.warm_start);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.trials, 20);
  EXPECT_EQ(o.workers, 2);
  EXPECT_EQ(o.sampler, "nsga2");
  EXPECT_DOUBLE_EQ(parse_study_options({{"timeout", 90}}).timeout_s, 90);
  try {
    parse_study_options({{"timeout", "soon"}});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "timeout");
    EXPECT_EQ(std::string(e.what()), "timeout: expected a duration like 8h, 30m, 90s, got 'soon'");
    EXPECT_EQ(e.message([](const std::string& k) { return "--" + k; }),
              "--timeout: expected a duration like 8h, 30m, 90s, got 'soon'");
  }
  EXPECT_THROW(parse_study_options({{"workers", "two"}}), ConfigError);
}

TEST(ConfigError, NamesKeysThatTheCliShowsAsFlags) {
  const ConfigError e("calib",
                      key_ref("calib") + " is required when " + key_ref("data") + " is a file");
  EXPECT_EQ(e.key(), "calib");
  EXPECT_EQ(std::string(e.what()), "calib is required when data is a file");
  EXPECT_EQ(e.message([](const std::string& k) { return "--" + k; }),
            "--calib is required when --data is a file");
  const UsageError plain("no keys here");
  EXPECT_EQ(plain.message([](const std::string&) { return "x"; }), "no keys here");
}

}  // namespace
}  // namespace autocompress
