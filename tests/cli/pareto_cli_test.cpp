// `autocompress pareto` and `report` end to end on a study written through the Storage API for the
// example model: the front table with the knee, JSON output, --export-dir recipes, --target
// re-scoring (latency equals the known-objective model's for that profile; accuracy unchanged),
// and the HTML report.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/sha256.hpp"
#include "hwmodels/profile.hpp"
#include "model/onnx_io.hpp"
#include "search/study/objectives.hpp"
#include "storage/sqlite_storage.hpp"
#include "tests/cli/run_cli.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

using nlohmann::json;

const std::string kModel = std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx";

std::string run(const std::string& args, int* rc = nullptr) { return run_cli(args, rc); }

json recipe(const std::string& sha, const std::string& precision, int wbits) {
  return {{"format", "autocompress-recipe"},
          {"version", 1},
          {"model_sha256", sha},
          {"defaults", {{"precision", precision}, {"wbits", wbits}}},
          {"layers", {{"/fc2/Gemm", {{"precision", "fp32"}, {"wbits", 8}}}}}};
}

class ParetoCli : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ + "/t.db";
    sha_ = sha256_file(kModel);
    SqliteStorage st(db_);
    StudySpec spec;
    spec.name = "cnn";
    spec.model_sha256 = sha_;
    spec.model_path = kModel;
    spec.target = "host";
    spec.objectives = {{"accuracy", Direction::kMaximize}, {"latency_ms", Direction::kMinimize}};
    spec.reference_point = {0.8, 10};
    json knobs = json::array();  // the model's layers in schedule order, as the search records
    for (const char* l : {"/stem/stem.0/Conv", "/res/conv1/conv1.0/Conv", "/res/conv2/conv2.0/Conv",
                          "/expand/expand.0/Conv", "/dsep/dw/dw.0/Conv", "/dsep/pw/pw.0/Conv",
                          "/conv5/conv5.0/Conv", "/fc1/Gemm", "/fc2/Gemm"})
      knobs.push_back({{"name", std::string(l) + "/precision"}, {"type", "precision"}});
    spec.search_space = json{{"knobs", knobs}}.dump();
    const Study s = st.create_study(spec);
    // fp32, bf16, int8 and 4-bit int8: accuracy falls as latency falls; trial 4 is dominated.
    const std::vector<std::tuple<std::string, int, double, double>> rows = {{"fp32", 8, 0.92, 3.0},
                                                                            {"bf16", 8, 0.918, 2.0},
                                                                            {"int8", 8, 0.915, 1.0},
                                                                            {"int8", 4, 0.85, 0.9},
                                                                            {"bf16", 6, 0.80, 2.5}};
    for (const auto& [p, w, acc, lat] : rows) {
      const FrozenTrial t = st.ask(s.id, "test");
      TrialResult r;
      r.values = {acc, lat};
      r.metrics = {{"latency_ms", lat}};
      r.user_attrs["recipe"] = recipe(sha_, p, w).dump();
      st.tell(s.id, t.number, r);
    }
  }
  const testing::TempDir tmp_{"ac_pareto"};
  const std::string dir_ = tmp_.str();
  std::string db_, sha_;
};

TEST_F(ParetoCli, TableJsonAndExport) {
  int rc = -1;
  const std::string table = run("pareto --db " + db_ + " --study cnn", &rc);
  ASSERT_EQ(rc, 0) << table;
  EXPECT_NE(table.find("front of 4 trials"), std::string::npos) << table;
  EXPECT_NE(table.find("*      2"), std::string::npos) << table;  // int8: the knee
  EXPECT_NE(table.find("i8 i8 i8 i8 i8 i8 i8 i8 f"), std::string::npos) << table;
  const json j = json::parse(run("pareto --db " + db_ + " --study cnn --format json"));
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[2]["number"], 2);
  EXPECT_TRUE(j[2]["knee"].get<bool>());
  EXPECT_EQ(j[3]["layers"].size(), 9u);
  run("pareto --db " + db_ + " --study cnn --format csv --export-dir " + dir_ + "/front", &rc);
  ASSERT_EQ(rc, 0);
  for (int n : {0, 1, 2, 3}) {
    std::ifstream f(dir_ + "/front/trial_" + std::to_string(n) + ".json");
    ASSERT_TRUE(f.good()) << n;
    const json r = json::parse(f);
    EXPECT_EQ(r["model_sha256"], sha_);
    const double accuracy[] = {0.92, 0.918, 0.915, 0.85};
    EXPECT_EQ(r["metrics"]["accuracy"].get<double>(), accuracy[n]);
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/front/trial_4.json"));
}

TEST_F(ParetoCli, TargetRescoresLatencyWithoutEvaluations) {
  int rc = -1;
  const std::string out =
      run("pareto --db " + db_ + " --study cnn --format json --target cortex_a76", &rc);
  ASSERT_EQ(rc, 0) << out;
  const json j = json::parse(out);
  const Graph g = load_onnx(kModel);
  const Profile arm = find_profile("cortex_a76");
  const ObjectiveModel model(g, arm, 1, arm.channel_multiple);
  // bf16 recipes cannot run on cortex_a76 (fp32/int8): trials 1 and 4 drop out.
  std::vector<int64_t> numbers;
  for (const auto& row : j) {
    numbers.push_back(row["number"].get<int64_t>());
    const int n = int(numbers.back());
    const Recipe r = parse_recipe(recipe(sha_, n == 0 ? "fp32" : "int8", n == 3 ? 4 : 8).dump());
    EXPECT_NEAR(row["values"]["latency_ms"].get<double>(), model.evaluate(r).latency_s * 1e3, 1e-9);
    EXPECT_EQ(row["values"]["accuracy"].get<double>(), n == 0 ? 0.92 : n == 2 ? 0.915 : 0.85);
  }
  for (int64_t n : numbers) EXPECT_TRUE(n == 0 || n == 2 || n == 3) << n;
  EXPECT_FALSE(numbers.empty());
  run("pareto --db " + db_ + " --study cnn --target no_such_target", &rc);
  EXPECT_EQ(rc, 2);
}

TEST_F(ParetoCli, ReportWritesHtml) {
  int rc = -1;
  run("report --db " + db_ + " --study cnn -o " + dir_ + "/r.html", &rc);
  ASSERT_EQ(rc, 0);
  std::ifstream f(dir_ + "/r.html");
  const std::string html((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("class=\"knee\" data-trial=\"2\""), std::string::npos);
  run("report --db " + db_ + " --study nope -o " + dir_ + "/x.html", &rc);
  EXPECT_EQ(rc, 2);
}

}  // namespace
}  // namespace autocompress
