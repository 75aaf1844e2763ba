// End-to-end: the studies / trials / export commands on a database written by SqliteStorage.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "storage/sqlite_storage.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

using storage_testing::file_bytes;
using storage_testing::TempDir;

struct Run {
  int code;
  std::string out;
};

Run cli(const std::string& args) {
  const std::string cmd = std::string(AC_CLI) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class StorageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteStorage st(db);
    auto spec = storage_testing::test_spec("cnn");
    const auto s = st.create_study(spec);
    // (accuracy max, latency min): trials 0..5; 2 dominated by 1; 4 infeasible.
    const double acc[] = {0.80, 0.90, 0.85, 0.95, 0.99, 0.70};
    const double lat[] = {1.0, 2.0, 2.5, 3.0, 0.5, 0.4};
    for (int i = 0; i < 6; ++i) {
      const auto t = st.ask(s.id, "w");
      st.set_params(s.id, t.number,
                    {{"features.0/prune", 0.25 * i},
                     {"features.0/precision", std::string("int8")},
                     {"fc/wbits", 4.0},
                     {"rank", 0.5}});
      TrialResult r;
      r.values = {acc[i], lat[i]};
      r.metrics = {{"top5", 0.99}, {"kl", 0.01 * i}};
      r.constraints = {i == 4 ? 0.5 : -0.1};
      st.tell(s.id, t.number, r);
    }
    const auto t = st.ask(s.id, "w");
    st.tell(s.id, t.number, {TrialState::kFail, {}, {}, {}, "boom", {}});
  }
  TempDir dir;
  std::string db = dir.file("trials.db");
};

TEST_F(StorageCli, Studies) {
  const auto r = cli("studies --db " + db);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("cnn"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("accuracy=0.95 latency_ms=0.4"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(cli("studies --format json --db " + db).out);
  EXPECT_EQ(j[0]["trials"]["COMPLETE"], 6);
  EXPECT_EQ(j[0]["trials"]["FAIL"], 1);
}

TEST_F(StorageCli, TrialsWhereSortLimitPareto) {
  auto numbers = [&](const std::string& args) {
    const auto r = cli("trials --db " + db + " --study cnn --format json " + args);
    EXPECT_EQ(r.code, 0) << r.out;
    std::vector<int> out;
    for (const auto& t : nlohmann::json::parse(r.out)) out.push_back(t["number"]);
    return out;
  };
  using V = std::vector<int>;
  EXPECT_EQ(numbers(""), (V{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(numbers("--where 'accuracy > 0.82 and latency_ms < 2.75'"), (V{1, 2, 4}));
  EXPECT_EQ(numbers("--sort -accuracy --limit 2"), (V{4, 3}));
  EXPECT_EQ(numbers("--sort latency_ms"), (V{5, 4, 0, 1, 2, 3, 6}));
  EXPECT_EQ(numbers("--pareto"), (V{0, 1, 3, 5}));
  EXPECT_EQ(numbers("--pareto --where 'kl > 0.005' --sort -latency_ms"), (V{3, 1, 5}));
  const auto csv = cli("trials --db " + db + " --study cnn --format csv --limit 1");
  EXPECT_EQ(csv.code, 0);
  EXPECT_NE(csv.out.find("number,state,duration_s,accuracy,latency_ms,kl,top5,accuracy_drop,"
                         "fc/wbits,features.0/precision,features.0/prune,rank"),
            std::string::npos)
      << csv.out;
  EXPECT_EQ(cli("trials --db " + db + " --study cnn").code, 0);
}

// A study where every trial violates its constraint: `trials --pareto` lists the front `pareto`
// shows, the non-dominated trials among those of least violation, not nothing.
TEST_F(StorageCli, ParetoOfAnInfeasibleStudyIsTheLeastViolatingFront) {
  {
    SqliteStorage st(db);
    const auto s = st.create_study(storage_testing::test_spec("over"));
    // (accuracy max, latency min): 0..2 violate by 0.2, 3 and 4 by 0.5; 1 dominates 2.
    const double acc[] = {0.80, 0.90, 0.85, 0.99, 0.95}, lat[] = {1.0, 2.0, 2.5, 0.5, 0.1};
    for (int i = 0; i < 5; ++i) {
      const auto t = st.ask(s.id, "w");
      TrialResult r;
      r.values = {acc[i], lat[i]};
      r.constraints = {i < 3 ? 0.2 : 0.5};
      st.tell(s.id, t.number, r);
    }
  }
  // Trial numbers of a JSON array printed after any notes (stdout and stderr are read together).
  auto numbers = [&](const std::string& command, std::string* out) {
    const auto r = cli(command + " --db " + db + " --study over --format json");
    EXPECT_EQ(r.code, 0) << r.out;
    *out = r.out;
    std::vector<int> n;
    for (const auto& t : nlohmann::json::parse(r.out.substr(r.out.find('['))))
      n.push_back(t["number"]);
    return n;
  };
  std::string trials_out, pareto_out;
  const auto listed = numbers("trials --pareto", &trials_out);
  EXPECT_EQ(listed, (std::vector<int>{0, 1}));
  EXPECT_EQ(numbers("pareto", &pareto_out), listed);
  EXPECT_NE(trials_out.find("no feasible COMPLETE trial"), std::string::npos) << trials_out;
  EXPECT_NE(pareto_out.find("no feasible COMPLETE trial"), std::string::npos) << pareto_out;
}

TEST_F(StorageCli, ExportWritesARecipe) {
  const auto out = dir.file("recipe.json");
  const auto r = cli("export --db " + db + " --study cnn --trial 3 -o " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(file_bytes(out));
  EXPECT_EQ(j["format"], "autocompress-recipe");
  EXPECT_EQ(j["version"], 2);  // recipes are written as version 2 (1 still reads)
  EXPECT_EQ(j["model_sha256"], std::string(64, 'a'));
  EXPECT_EQ(j["layers"]["features.0"]["prune"], 0.75);
  EXPECT_EQ(j["layers"]["features.0"]["precision"], "int8");
  EXPECT_TRUE(j["layers"]["fc"]["wbits"].is_number_integer());
  EXPECT_EQ(j["defaults"]["rank"], 0.5);
  EXPECT_EQ(j["metrics"]["accuracy"], 0.95);
  EXPECT_EQ(j["metrics"]["kl"], 0.03);
}

// copy-study: the copy lists the same trials; a second copy and an unknown study are refused
// (usage, exit 2), the latter before the target file is created.
TEST_F(StorageCli, CopyStudy) {
  const std::string to = dir.file("copy.db"), none = dir.file("none.db");
  const auto r = cli("copy-study --from " + db + " --to " + to);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("copied study 'cnn' (7 trials)"), std::string::npos) << r.out;
  const std::string list = " --study cnn --format json";
  EXPECT_EQ(cli("trials --db " + to + list).out, cli("trials --db " + db + list).out);
  EXPECT_EQ(cli("copy-study --from " + db + " --to " + to + " --study cnn").code, 2);
  EXPECT_EQ(cli("copy-study --from " + db + " --to " + none + " --study nope").code, 2);
  EXPECT_FALSE(std::filesystem::exists(none));
}

TEST_F(StorageCli, BadInputsAreClearErrorsAndChangeNothing) {
  const std::string before = file_bytes(db);
  auto expect = [&](const std::string& args, int code, const std::string& text) {
    const auto r = cli(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(text), std::string::npos) << args << "\n" << r.out;
  };
  expect("trials --db " + db + " --study nope", 2, "unknown study 'nope'; known: cnn");
  expect("trials --db " + db + " --study cnn --where 'acc > 1'", 2,
         "unknown name 'acc' in --where 'acc > 1'; known: number, started_at");
  expect("trials --db " + db + " --study cnn --where 'accuracy >'", 2, "bad --where expression");
  expect("trials --db " + db + " --study cnn --sort speed", 2, "--sort: unknown name 'speed'");
  expect("export --db " + db + " --study cnn --trial 6 -o " + dir.file("x.json"), 2,
         "is FAIL; only COMPLETE");
  expect("export --db " + db + " --study cnn --trial 60 -o " + dir.file("x.json"), 2,
         "has no trial 60");
  expect("studies --db " + dir.file("missing.db"), 7, "missing.db: no such file");
  const auto text = dir.file("notes.txt");
  FILE* f = std::fopen(text.c_str(), "w");
  for (int i = 0; i < 100; ++i) std::fputs("not a database at all\n", f);
  std::fclose(f);
  const std::string text_before = file_bytes(text);
  expect("studies --db " + text, 5, "notes.txt: not an SQLite database");
  EXPECT_EQ(file_bytes(text), text_before);
  EXPECT_EQ(file_bytes(db), before);
}

}  // namespace
}  // namespace autocompress
