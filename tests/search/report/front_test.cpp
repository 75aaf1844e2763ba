// search/report/front.hpp: the study front under constraint-domination (against NSGA-II's ranks),
// recipes of trials, the per-layer summary, uniform policies and re-scored known values.
#include "search/report/front.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.hpp"
#include "search/moo/nondominated.hpp"

namespace autocompress {
namespace {

using nlohmann::json;

Study two_objective_study() {
  Study s;
  s.name = "s";
  s.model_sha256 = std::string(64, 'a');
  s.objectives = {{"accuracy", Direction::kMaximize}, {"latency_ms", Direction::kMinimize}};
  s.constraints = {"accuracy_drop", "latency"};
  return s;
}

FrozenTrial trial(int64_t n, std::vector<double> values, std::vector<double> constraints = {},
                  TrialState state = TrialState::kComplete) {
  FrozenTrial t;
  t.number = n;
  t.state = state;
  t.values = std::move(values);
  t.constraints = std::move(constraints);
  return t;
}

TEST(StudyFront, EqualsRankZeroOfConstraintDominationOnRandomTrials) {
  const Study s = two_objective_study();
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1), c(-1, 0.3);
  for (int rep = 0; rep < 20; ++rep) {
    std::vector<FrozenTrial> trials;
    for (int i = 0; i < 60; ++i) {
      const auto state = i % 7 == 3 ? TrialState::kPruned : TrialState::kComplete;
      // rounding makes ties and duplicates; rep % 4 == 0: no feasible trial at all
      const double shift = rep % 4 == 0 ? 1.5 : 0;
      trials.push_back(trial(i, {std::round(u(rng) * 10) / 10, std::round(u(rng) * 10) / 10},
                             {c(rng) + shift, c(rng)}, state));
    }
    std::vector<double> pts, viol;
    std::vector<size_t> complete;
    for (size_t i = 0; i < trials.size(); ++i)
      if (trials[i].state == TrialState::kComplete) {
        complete.push_back(i);
        pts.insert(pts.end(), trials[i].values.begin(), trials[i].values.end());
        viol.push_back(total_violation(trials[i].constraints));
      }
    const auto ranks = nondominated_ranks_naive(pts, 2, study_senses(s), viol);
    std::vector<size_t> expected;
    for (size_t k = 0; k < ranks.size(); ++k)
      if (ranks[k] == 0) expected.push_back(complete[k]);
    const TrialFront f = study_front(s, trials);
    EXPECT_EQ(f.members, expected) << "rep " << rep;
    EXPECT_EQ(f.feasible, rep % 4 != 0);
  }
}

TEST(StudyFront, SkipsTrialsWithoutAllValues) {
  const Study s = two_objective_study();
  std::vector<FrozenTrial> trials = {trial(0, {0.9, NAN}), trial(1, {0.5, 2.0}),
                                     trial(2, {0.99, 0.1}, {}, TrialState::kFail), trial(3, {0.8}),
                                     trial(4, {0.6, 1.0})};
  EXPECT_EQ(study_front(s, trials).members, (std::vector<size_t>{4}));
  EXPECT_TRUE(study_front(s, {}).members.empty());
}

TEST(ReferenceOrNadir, StudysOwnOrTheWorstPaddedByATenthOfTheRange) {
  Study s = two_objective_study();
  s.reference_point = {0.5, 3};
  EXPECT_EQ(reference_or_nadir(s, std::vector<double>{0.9, 1}), (std::vector<double>{0.5, 3}));
  s.reference_point.clear();
  const auto r = reference_or_nadir(s, std::vector<double>{0.9, 1, 0.7, 2, 0.8, 5});
  EXPECT_NEAR(r[0], 0.68, 1e-12);  // accuracy is maximized: below the worst
  EXPECT_NEAR(r[1], 5.4, 1e-12);
}

TEST(TrialRecipe, FromTheRecipeAttrOrRebuiltFromParams) {
  const Study s = two_objective_study();
  FrozenTrial t = trial(4, {0.91, 1.5});
  t.metrics = {{"size_mb", 0.25}};
  t.params = {{"conv1/precision", std::string("int8")}, {"conv1/wbits", 4.0}, {"fc/prune", 0.5}};
  json r = trial_recipe(s, t);
  EXPECT_EQ(r["layers"]["conv1"]["precision"], "int8");
  EXPECT_EQ(r["layers"]["conv1"]["wbits"], 4);
  EXPECT_EQ(r["layers"]["fc"]["prune"], 0.5);
  EXPECT_EQ(r["model_sha256"], s.model_sha256);
  EXPECT_EQ(r["metrics"]["accuracy"], 0.91);
  EXPECT_EQ(r["metrics"]["size_mb"], 0.25);
  EXPECT_NO_THROW(parse_recipe(r.dump()));
  t.user_attrs["recipe"] =
      R"({"format":"autocompress-recipe","version":1,"defaults":{"precision":"bf16"},"layers":{}})";
  r = trial_recipe(s, t);
  EXPECT_EQ(r["defaults"]["precision"], "bf16");
  EXPECT_FALSE(r["layers"].contains("conv1"));
  EXPECT_EQ(r["metrics"]["latency_ms"], 1.5);
  t.user_attrs["recipe"] = "{not json";
  EXPECT_THROW(trial_recipe(s, t), RecipeError);
}

TEST(RecipeSummary, OneCodePerLayerInScheduleOrder) {
  Study s = two_objective_study();
  s.search_space =
      R"({"knobs":[{"name":"c2/prune","type":"prune","levels":[0,0.5],"fixed":-1},
                   {"name":"c1/precision","type":"precision","levels":["fp32","int8"],"fixed":-1},
                   {"name":"c2/precision","type":"precision","levels":["fp32","int8"],"fixed":-1}]})";
  EXPECT_EQ(layer_order(s), (std::vector<std::string>{"c2", "c1"}));
  const Recipe r = parse_recipe(R"({"format":"autocompress-recipe","version":1,
      "model_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "defaults":{"precision":"int8","wbits":8},
      "layers":{"c1":{"wbits":4},"c2":{"prune":0.5,"rank":0.75},"z":{"precision":"bf16"},
                "fc":{"precision":"fp32","wbits":6}}})");
  const auto rows = recipe_layers(r, layer_order(s));
  ASSERT_EQ(rows.size(), 4u);  // c2, c1 from the order, then fc and z by name
  EXPECT_EQ(rows[0].layer, "c2");
  EXPECT_EQ(rows[2].layer, "fc");  // layers the order lacks follow by name
  EXPECT_EQ(recipe_summary(rows), "i8-p50-r75 i4 f6 b");
  LayerSettings same;
  same.precision = Precision::kInt8;
  const std::vector<LayerRow> uniform = {{"a", same}, {"b", same}};
  EXPECT_EQ(recipe_summary(uniform), "all i8");
  EXPECT_EQ(layer_code(LayerSettings{}), "f");
  EXPECT_EQ(recipe_summary(recipe_layers(r, {})), "i4 i8-p50-r75 f6 b others i8");
}

TEST(UniformPolicy, NamesOneKnobTypeMovedEverywhere) {
  Study s = two_objective_study();
  s.search_space = R"({"knobs":[
      {"name":"g/prune","type":"prune","levels":[0,0.25,0.5],"fixed":-1},
      {"name":"a/precision","type":"precision","levels":["fp32","bf16","int8"],"fixed":-1},
      {"name":"b/precision","type":"precision","levels":["fp32","bf16","int8"],"fixed":-1},
      {"name":"b/wbits","type":"wbits","levels":[8,4],"fixed":-1},
      {"name":"fc/precision","type":"precision","levels":["fp32"],"fixed":0}]})";
  FrozenTrial t = trial(0, {0.9, 1});
  const auto with = [&](std::string pa, std::string pb, double prune, double wbits) {
    t.params = {{"a/precision", pa},
                {"b/precision", pb},
                {"b/wbits", wbits},
                {"fc/precision", std::string("fp32")},
                {"g/prune", prune}};
    return uniform_policy(s, t);
  };
  EXPECT_EQ(with("int8", "int8", 0, 8), "int8 everywhere");
  EXPECT_EQ(with("bf16", "bf16", 0, 8), "bf16 everywhere");
  EXPECT_EQ(with("fp32", "fp32", 0.25, 8), "25% uniform pruning");
  EXPECT_EQ(with("fp32", "fp32", 0, 4), "4-bit weights");
  EXPECT_EQ(with("int8", "bf16", 0, 8), "");    // two values
  EXPECT_EQ(with("int8", "fp32", 0, 8), "");    // not every knob of the type
  EXPECT_EQ(with("int8", "int8", 0.5, 8), "");  // two types
  EXPECT_EQ(with("fp32", "fp32", 0, 8), "");    // the original
  t.user_attrs["baseline"] = "my baseline";
  EXPECT_EQ(uniform_policy(s, t), "my baseline");
}

TEST(WithKnownValues, ReplacesObjectivesAndShiftsTheirConstraints) {
  const Study s = two_objective_study();  // constraints accuracy_drop, latency
  FrozenTrial t = trial(1, {0.9, 2.0}, {-0.5, -1.0});
  t.metrics = {{"latency_ms", 2.0}, {"energy_mj", 7.0}};
  const FrozenTrial r = with_known_values(s, t, {{"latency_ms", 3.5}, {"energy_mj", 1.0}});
  EXPECT_EQ(r.values, (std::vector<double>{0.9, 3.5}));
  EXPECT_EQ(r.constraints, (std::vector<double>{-0.5, 0.5}));  // now infeasible
  EXPECT_EQ(r.metrics.at("energy_mj"), 1.0);
  EXPECT_EQ(t.values[1], 2.0);  // the input is a copy
}

}  // namespace
}  // namespace autocompress
