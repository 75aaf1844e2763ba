// `autocompress serve` through the binary: the hello line describes the study, a request line is
// evaluated as one trial of the study (params, values, constraints and recipe in the database),
// bad lines get an error naming the field and the server goes on, EOF ends it with exit 0.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "storage/sqlite_storage.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

using nlohmann::json;

const testing::TempDir kTmp("ac_serve_cli");
const std::string kDir = kTmp.str();
const std::string kProblem =
    " --val-limit 200 --chunk 100 --calib-limit 100 --max-accuracy-drop 1.0 --db " + kDir +
    "/s.db --study served -q";

// Runs serve with `input` on stdin: its exit code and stdout lines as JSON.
std::pair<int, std::vector<json>> serve(const std::string& input) {
  std::ofstream(kDir + "/in.jsonl") << input;
  const int st = std::system((std::string(AC_CLI) + " serve" + kProblem + " < " + kDir +
                              "/in.jsonl > " + kDir + "/out.jsonl 2> " + kDir + "/err.log")
                                 .c_str());
  std::vector<json> lines;
  std::ifstream f(kDir + "/out.jsonl");
  for (std::string line; std::getline(f, line);) lines.push_back(json::parse(line));
  return {WEXITSTATUS(st), lines};
}

TEST(ServeCli, EvaluatesRequestsIntoTheStudyAndAnswersBadLines) {
  auto [code, out] = serve("");  // hello only: creates the study
  ASSERT_EQ(code, 0);
  ASSERT_EQ(out.size(), 1u);
  const json hello = out[0];
  EXPECT_EQ(hello["hello"], "autocompress serve");
  EXPECT_EQ(hello["trials"], 0);
  ASSERT_EQ(hello["objectives"].size(), 3u);
  EXPECT_EQ(hello["objectives"][0]["direction"], "maximize");
  EXPECT_EQ(hello["constraints"], json::array({"accuracy_drop"}));
  ASSERT_FALSE(hello["baselines"].empty());
  EXPECT_EQ(hello["baselines"][0]["name"], "int8 everywhere");
  EXPECT_EQ(hello["reference_point"].size(), 3u);

  json wrong_knob = hello["baselines"][0]["params"];
  wrong_knob["no/such/knob"] = 1;
  const json good{{"params", hello["baselines"][0]["params"]}};
  std::tie(code, out) = serve("not json\n{\"x\": 1}\n" + json{{"params", wrong_knob}}.dump() +
                              "\n" + good.dump() + "\n");
  ASSERT_EQ(code, 0);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[1]["field"], "line");
  EXPECT_EQ(out[2]["field"], "params");
  EXPECT_NE(out[3]["error"].get<std::string>().find("no/such/knob"), std::string::npos);
  const json& r = out[4];
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["number"], 0);
  EXPECT_EQ(r["state"], "COMPLETE");  // int8 everywhere keeps the accuracy of this model
  ASSERT_EQ(r["values"].size(), 3u);
  EXPECT_GT(r["values"][0].get<double>(), 0.5);
  ASSERT_EQ(r["constraints"].size(), 1u);

  SqliteStorage storage(kDir + "/s.db");
  const Study st = storage.get_study("served");
  EXPECT_EQ(st.sampler, "external");
  EXPECT_TRUE(st.user_attrs.count("config"));
  const auto trials = storage.trials(st.id);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kComplete);
  EXPECT_EQ(trials[0].values[0], r["values"][0].get<double>());
  EXPECT_EQ(trials[0].params.size(), hello["knobs"].size());
  EXPECT_TRUE(trials[0].user_attrs.count("recipe"));
}

}  // namespace
}  // namespace autocompress
