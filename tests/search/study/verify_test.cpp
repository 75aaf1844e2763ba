// Test-split verification (search/study/verify.hpp): the order-statistic interval of a median, the
// comparison with the best uniform baseline, and a tiny study verified end to end.
#include "search/study/verify.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "search/study/study.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/search/study/small_problem.hpp"

namespace autocompress {
namespace {

TEST(MedianInterval, OrderStatisticsWithTheirExactCoverage) {
  const MedianInterval one = median_interval({4.0});
  EXPECT_EQ(one.median, 4.0);
  EXPECT_EQ(one.lo, 4.0);
  EXPECT_EQ(one.coverage, 0.0);
  // n = 3: only [min, max], coverage 1 - 2 / 8.
  const MedianInterval three = median_interval({3.0, 1.0, 2.0});
  EXPECT_EQ(three.median, 2.0);
  EXPECT_EQ(three.lo, 1.0);
  EXPECT_EQ(three.hi, 3.0);
  EXPECT_DOUBLE_EQ(three.coverage, 0.75);
  // n = 10: [x(2), x(9)] covers 1 - 2 * 11 / 1024 >= 95%; [x(3), x(8)] only 1 - 2 * 56 / 1024.
  const MedianInterval ten = median_interval({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_DOUBLE_EQ(ten.median, 5.5);
  EXPECT_EQ(ten.lo, 2.0);
  EXPECT_EQ(ten.hi, 9.0);
  EXPECT_NEAR(ten.coverage, 1 - 22.0 / 1024, 1e-12);
  EXPECT_THROW(median_interval({}), UsageError);
}

VerifiedTrial row(int64_t number, bool front, const std::string& baseline,
                  std::vector<uint8_t> correct, double size_mb, double latency_ms) {
  VerifiedTrial v;
  v.item = {number, front, baseline, {}};
  v.correct = std::move(correct);
  v.test = paired_drop(std::vector<uint8_t>(v.correct.size(), 1), v.correct);
  v.size_mb = size_mb;
  v.latency_ms = {latency_ms, latency_ms, latency_ms, 1};
  return v;
}

std::vector<uint8_t> correct(int right, int of) {
  std::vector<uint8_t> c(size_t(of), 0);
  std::fill(c.begin(), c.begin() + right, 1);
  return c;
}

TEST(UniformComparison, BestBaselineThenStrictAndWithinCiPicks) {
  const std::vector<VerifiedTrial> rows = {
      row(-1, false, "", correct(100, 100), 1.0, 1.0),                // the original
      row(0, false, "int8 everywhere", correct(96, 100), 0.25, 0.5),  // the best baseline
      row(1, false, "4-bit weights", correct(90, 100), 0.13, 0.6),
      row(2, true, "", correct(96, 100), 0.2, 0.45),   // as accurate: 1.25x smaller
      row(3, true, "", correct(95, 100), 0.1, 0.4),    // one image worse: within the CI only
      row(4, true, "", correct(80, 100), 0.05, 0.2)};  // far worse: never
  const UniformComparison c = compare_with_uniform(rows);
  EXPECT_EQ(c.baseline, 0);
  EXPECT_EQ(c.baseline_name, "int8 everywhere");
  EXPECT_DOUBLE_EQ(c.baseline_accuracy, 0.96);
  EXPECT_EQ(c.smaller_strict.number, 2);
  EXPECT_DOUBLE_EQ(c.smaller_strict.ratio, 1.25);
  EXPECT_EQ(c.smaller_ci.number, 3);
  EXPECT_DOUBLE_EQ(c.smaller_ci.ratio, 2.5);
  EXPECT_DOUBLE_EQ(c.smaller_ci.diff, -1.0);
  EXPECT_GT(c.smaller_ci.se, 0.5);
  EXPECT_EQ(c.faster_strict.number, 2);
  EXPECT_EQ(c.faster_ci.number, 3);
  EXPECT_DOUBLE_EQ(c.faster_ci.ratio, 1.25);
  EXPECT_EQ(compare_with_uniform(std::span(rows).subspan(3)).baseline, -1);
}

// The uniform baselines of a small study's space, verified on 300 test images.
TEST(Verifier, RebuildsTrialsAndEvaluatesThemOnTheTestSplit) {
  const ProblemConfig c = small_problem_config(200, 2.0);
  Study s;
  s.name = "v";
  s.user_attrs["config"] = problem_config_json(c).dump();
  const CompressionSpace space = problem_space(c);
  std::vector<VerifyItem> items;
  for (const auto& b : warm_start_baselines(space))
    items.push_back({int64_t(items.size()), true, b.name,
                     nlohmann::json::parse(recipe_to_json(candidate_to_recipe(space, b.x)))});
  ASSERT_GE(items.size(), 3u);
  ASSERT_EQ(items[0].baseline, "int8 everywhere");
  ASSERT_EQ(items[1].baseline, "bf16 everywhere");
  items.resize(3);
  VerifyOptions vo;
  vo.test_limit = 300, vo.repeats = 3, vo.threads = 2;
  const Verifier v(s, vo);
  EXPECT_EQ(v.test_size(), 300);
  EXPECT_NE(v.test_source().find("t10k"), std::string::npos);
  const auto rows = v.verify(items);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].item.number, -1);
  EXPECT_EQ(rows[0].test.drop, 0.0);
  EXPECT_GT(rows[0].test.accuracy, 0.85);
  for (const auto& r : rows) {
    EXPECT_EQ(r.test.n, 300);
    EXPECT_EQ(r.correct.size(), 300u);
    EXPECT_GT(r.latency_ms.median, 0);
    EXPECT_LE(r.latency_ms.lo, r.latency_ms.median);
    EXPECT_GE(r.latency_ms.hi, r.latency_ms.median);
    EXPECT_DOUBLE_EQ(r.latency_ms.coverage, 0.75);  // 3 runs: [min, max]
  }
  // int8 and bf16 everywhere lose little on unseen images, and are 4x and 2x smaller.
  EXPECT_LT(std::abs(rows[1].test.drop), 2.0);
  EXPECT_LT(std::abs(rows[2].test.drop), 2.0);
  EXPECT_LT(rows[1].size_mb, rows[0].size_mb / 3);
  EXPECT_LT(rows[2].size_mb, rows[0].size_mb / 1.8);
  const nlohmann::json j = verified_json(rows[1]);
  EXPECT_EQ(j.at("uniform_policy"), "int8 everywhere");
  EXPECT_EQ(j.at("test_images"), 300);
}

TEST(Verifier, NamesWhatIsMissing) {
  Study s;
  s.name = "external";
  EXPECT_THROW(
      try { Verifier(s, {}); } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("no recorded configuration"), std::string::npos);
        throw;
      },
      UsageError);
  // A data directory without the t10k files: the error names the test split.
  const testing::TempDir tmp("ac_verify");
  const std::string dir = tmp.str();
  std::ofstream(dir + "/train-images-idx3-ubyte") << "";  // an IDX directory, no t10k files
  s.user_attrs["config"] = problem_config_json(small_problem_config(100, 0)).dump();
  try {
    VerifyOptions vo;
    vo.test_data = dir;
    Verifier(s, vo);
    ADD_FAILURE() << "no error for " << dir;
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("test split"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace autocompress
