// The compression problem: paired accuracy drop, early stopping, evaluation of candidates.
#include "search/study/problem.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/search/study/small_problem.hpp"

namespace autocompress {
namespace {

ProblemConfig small_config() { return small_problem_config(300, 1.0); }

const CompressionProblem& problem() {
  static const CompressionProblem p(small_config());
  return p;
}

TEST(PairedDrop, CannotMeetUsesTheLowerBound) {
  const std::vector<uint8_t> orig{1, 1, 1, 0, 1, 1}, cand{0, 1, 1, 1, 0, 1};
  EXPECT_FALSE(cannot_meet(paired_drop(orig, cand), 1.0, 3.0));  // 16.7 - 3 * 15.2 < 1
  EXPECT_TRUE(cannot_meet({100, 0.5, 0.9, 40, 4}, 1.0, 3.0));
  EXPECT_FALSE(cannot_meet({100, 0.5, 0.9, 40, 4}, 0, 3.0));  // no constraint: never
}

TEST(Problem, OriginalCandidateLosesNothing) {
  const auto& p = problem();
  EXPECT_GT(p.original_accuracy(), 0.8);
  const Evaluation e = p.evaluate(Candidate(p.space().space.size(), 0), 2);
  ASSERT_EQ(e.result.state, TrialState::kComplete) << e.result.error;
  EXPECT_DOUBLE_EQ(e.result.metrics.at("accuracy_drop"), 0.0);
  EXPECT_DOUBLE_EQ(e.result.metrics.at("accuracy_se"), 0.0);
  EXPECT_EQ(e.result.values.size(), 3u);
  EXPECT_DOUBLE_EQ(e.result.values[0], p.original_accuracy());
  const auto ref = p.reference_point();
  EXPECT_DOUBLE_EQ(ref[0], p.original_accuracy() - 0.01);
  EXPECT_DOUBLE_EQ(e.result.values[1], ref[1]);  // the original's latency
  EXPECT_DOUBLE_EQ(e.result.values[2], ref[2]);  // and size
  EXPECT_EQ(e.result.constraints, std::vector<double>{-1.0});
  EXPECT_TRUE(e.result.user_attrs.count("recipe"));
}

TEST(Problem, HopelessCandidateIsPrunedEarly) {
  const auto& p = problem();
  Candidate c(p.space().space.size());
  for (size_t j = 0; j < c.size(); ++j) c[j] = int(p.space().space.knobs[j].levels.size()) - 1;
  const Evaluation e = p.evaluate(c, 2);
  ASSERT_EQ(e.result.state, TrialState::kPruned) << e.result.error;
  EXPECT_LT(e.result.metrics.at("images"), 300);
  EXPECT_GT(e.result.metrics.at("accuracy_drop"), 1.0);
}

TEST(FrontStopping, DominatedForSureNeedsKnownObjectivesAsGoodAndALowerDrop) {
  const double nan = std::nan("");
  const std::vector<Sense> sense = {Sense::kMaximize, Sense::kMinimize, Sense::kMinimize};
  const std::vector<double> known = {nan, 2.0, 0.5};  // accuracy unknown: ignored
  const PairedDrop d{1000, 0.9, 0.93, 3.0, 0.5};      // lower bound at z = 3: 1.5 points
  const std::vector<FrontPoint> as_good = {{4, {0.1, 2.0, 0.5}, 1.0}};
  EXPECT_EQ(dominated_for_sure(d, known, sense, as_good, 3.0), 0);
  // Drop not below the lower bound (1.5 vs 1.5): not for sure.
  EXPECT_EQ(
      dominated_for_sure(d, known, sense, std::vector<FrontPoint>{{4, {0.1, 2.0, 0.5}, 1.5}}, 3.0),
      -1);
  EXPECT_EQ(dominated_for_sure(d, known, sense, as_good, 4.0), -1);  // bound 1.0 with z = 4
  // Worse in one known objective: not dominated whatever its accuracy.
  const std::vector<FrontPoint> larger = {{5, {0.1, 1.0, 0.6}, -5.0}, {6, {0.1, 1.9, 0.4}, 0.2}};
  EXPECT_EQ(dominated_for_sure(d, known, sense, larger, 3.0), 1);
  EXPECT_EQ(dominated_for_sure(d, known, sense, std::span(larger).first(1), 3.0), -1);
  EXPECT_EQ(dominated_for_sure(PairedDrop{}, known, sense, as_good, 3.0), -1);  // no images yet
}

// A front point with the candidate's own known objectives and an accuracy no candidate can reach
// (drop -50 points) prunes it after the first chunk; one that is larger does not.
TEST(FrontStopping, CandidateTheFrontDominatesIsPrunedEarly) {
  const auto& p = problem();
  const Candidate c(p.space().space.size(), 0);
  std::vector<double> values = p.known_values(c);
  values[0] = p.original_accuracy() + 0.5;
  const Evaluation e = p.evaluate(c, 2, {}, std::vector<FrontPoint>{{7, values, -50.0}});
  ASSERT_EQ(e.result.state, TrialState::kPruned) << e.result.error;
  EXPECT_EQ(e.result.metrics.at("images"), 100);
  EXPECT_EQ(e.result.user_attrs.at("pruned_by"), "front:7");
  EXPECT_NE(e.result.error.find("cannot reach the front"), std::string::npos) << e.result.error;
  values[2] *= 2;  // size: worse than the candidate's
  const Evaluation f = p.evaluate(c, 2, {}, std::vector<FrontPoint>{{7, values, -50.0}});
  EXPECT_EQ(f.result.state, TrialState::kComplete) << f.result.error;
}

TEST(FrontStopping, FrontPointsAreFeasibleCompleteTrialsOnTheWholeValidationSet) {
  const auto& p = problem();
  const auto trial = [&](int64_t n, TrialState st, std::vector<double> v, double drop,
                         double images, double violation) {
    FrozenTrial t;
    t.number = n, t.state = st, t.values = std::move(v);
    t.metrics = {{"accuracy_drop", drop}, {"images", images}};
    t.constraints = {violation};
    return t;
  };
  const double n = double(p.validation_size());
  const std::vector<FrozenTrial> trials = {
      trial(0, TrialState::kComplete, {0.9, 1.0, 1.0}, 0.2, n, -0.8),
      trial(1, TrialState::kComplete, {0.8, 1.0, 1.0}, 0.7, n, -0.3),       // dominated by 0
      trial(2, TrialState::kComplete, {0.95, 0.5, 0.5}, 0.1, n / 2, -0.9),  // other images
      trial(3, TrialState::kComplete, {0.95, 0.5, 0.5}, 3.0, n, 2.0),       // infeasible
      trial(4, TrialState::kPruned, {0.95, 0.1, 0.1}, 0.0, n, -1.0),
      trial(5, TrialState::kComplete, {0.85, 0.5, 1.0}, 0.5, n, -0.5)};
  const auto front = p.front_points(trials);
  ASSERT_EQ(front.size(), 2u);
  EXPECT_EQ(front[0].number, 0);
  EXPECT_DOUBLE_EQ(front[0].drop, 0.2);
  EXPECT_EQ(front[1].number, 5);
  ProblemConfig off = small_config();
  off.front_stopping = false;
  EXPECT_TRUE(CompressionProblem(off).front_points(trials).empty());
  EXPECT_FALSE(parse_problem_config(problem_config_json(off)).front_stopping);
}

TEST(Problem, StopAbandonsTheTrial) {
  const auto& p = problem();
  const Evaluation e = p.evaluate(Candidate(p.space().space.size(), 0), 2, [] { return true; });
  EXPECT_EQ(e.result.state, TrialState::kFail);
  EXPECT_NE(e.result.error.find("interrupted"), std::string::npos);
}

TEST(Problem, AdditivePriorInterpolatesCurves) {
  const auto& s = problem().space();
  const Knob& k = *std::max_element(
      s.space.knobs.begin(), s.space.knobs.end(),
      [](const Knob& a, const Knob& b) { return a.levels.size() < b.levels.size(); });
  const size_t j = size_t(&k - s.space.knobs.data());
  ASSERT_GE(k.levels.size(), 3u);
  const size_t last = k.levels.size() - 1;
  const std::vector<SensitivityCurve> curves{
      {k.name, {k.levels[0], k.levels[last]}, {0.0, 4.0}, {0, 0.1}}};
  const auto back = parse_sensitivity(sensitivity_json(curves));
  Candidate c(s.space.size(), 0);
  EXPECT_DOUBLE_EQ(additive_drop_prior(s, back, c), 0.0);
  c[j] = int(last);
  EXPECT_DOUBLE_EQ(additive_drop_prior(s, back, c), 4.0);
  c[j] = 1;
  EXPECT_DOUBLE_EQ(additive_drop_prior(s, back, c), 4.0 / double(last));
}

TEST(Problem, ConfigRoundTripsAndRejectsUnknownKeys) {
  const ProblemConfig c = small_config();
  const ProblemConfig back = parse_problem_config(problem_config_json(c));
  EXPECT_EQ(problem_config_json(back), problem_config_json(c));
  EXPECT_THROW(parse_problem_config(nlohmann::json::parse(R"({"max_acc_drop": 1})")), UsageError);
  EXPECT_THROW(parse_problem_config(nlohmann::json::parse(R"({"objectives": ["accuracy"]})")),
               UsageError);
}

}  // namespace
}  // namespace autocompress
