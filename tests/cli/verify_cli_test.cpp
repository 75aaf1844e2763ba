// `autocompress pareto --verify` end to end: a tiny search (4 trials on 200 validation images),
// its front and uniform baselines verified on 300 test images with 3 timed runs each; the
// verification is recorded as study attrs and leaves the trials unchanged; errors name what is
// missing.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "storage/sqlite_storage.hpp"
#include "tests/cli/run_cli.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

using nlohmann::json;

std::string cli(const std::string& args, int* rc = nullptr) { return run_cli(args, rc, true); }

TEST(ParetoVerify, TinyStudyOnTheTestSplit) {
  const testing::TempDir tmp("ac_verify_cli");
  const std::string dir = tmp.str();
  const std::string db = dir + "/v.db", at = " --db " + db + " --study v";
  int rc = -1;
  const std::string search = cli("search" + at + " --model " + AC_SOURCE_DIR +
                                     "/examples/fashion_cnn.onnx --val-limit 200 --calib-limit 64 "
                                     "--chunk 100 --max-accuracy-drop 2 --trials 4 --quiet",
                                 &rc);
  ASSERT_EQ(rc, 0) << search;
  const std::string before = cli("trials" + at + " --format json");
  const std::string verify = " --verify --test-limit 300 --repeats 3 --threads 2";
  const std::string table = cli("pareto" + at + verify, &rc);
  ASSERT_EQ(rc, 0) << table;
  EXPECT_NE(table.find("verified on 300 test images"), std::string::npos) << table;
  EXPECT_NE(table.find("uniform: int8 everywhere"), std::string::npos) << table;
  EXPECT_NE(table.find("against the best uniform baseline"), std::string::npos) << table;
  const std::string out = cli("pareto" + at + verify + " --format json 2>/dev/null", &rc);
  ASSERT_EQ(rc, 0) << out;
  const json j = json::parse(out.substr(out.find('{')));
  ASSERT_GE(j["rows"].size(), 4u);  // the original, then the front and the baselines
  EXPECT_EQ(j["rows"][0]["number"], -1);
  for (const auto& r : j["rows"]) {
    EXPECT_EQ(r["test_images"], 300);
    EXPECT_GT(r["latency_ms"].get<double>(), 0);
  }
  EXPECT_TRUE(j["comparison"]["baseline"].is_number()) << j.dump(2);
  // Recorded as study attrs; the trials themselves are unchanged.
  EXPECT_EQ(cli("trials" + at + " --format json"), before);
  SqliteStorage st(db);
  const Study s = st.get_study("v");
  const int64_t first = j["rows"][1]["number"].get<int64_t>();
  ASSERT_TRUE(s.user_attrs.count("verify:" + std::to_string(first)));
  EXPECT_EQ(json::parse(s.user_attrs.at("verify:" + std::to_string(first)))["test_images"], 300);
  EXPECT_TRUE(s.user_attrs.count("verify"));
  // Errors: a missing test split, and --target with --verify.
  std::filesystem::create_directories(dir + "/idx");  // an IDX directory without t10k files
  std::ofstream(dir + "/idx/train-images-idx3-ubyte") << "";
  const std::string missing = cli("pareto" + at + verify + " --data " + dir + "/idx", &rc);
  EXPECT_EQ(rc, 7) << missing;
  EXPECT_NE(missing.find("test split"), std::string::npos) << missing;
  cli("pareto" + at + verify + " --target cortex_a76", &rc);
  EXPECT_EQ(rc, 2);
}

TEST(ParetoVerify, StudyWithoutRecordedConfig) {
  const testing::TempDir tmp("ac_verify_cli");
  const std::string dir = tmp.str();
  {
    SqliteStorage st(dir + "/e.db");
    StudySpec spec;
    spec.name = "external";
    spec.objectives = {{"accuracy", Direction::kMaximize}, {"size_mb", Direction::kMinimize}};
    st.create_study(spec);
  }
  int rc = -1;
  const std::string out = cli("pareto --db " + dir + "/e.db --study external --verify", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("no recorded configuration"), std::string::npos) << out;
}

}  // namespace
}  // namespace autocompress
