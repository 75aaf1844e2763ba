#include "search/samplers/nsga2.hpp"

#include <gtest/gtest.h>

#include <set>

#include "bench/problems/benchmark_problems.hpp"

namespace autocompress {
namespace {

SearchSpace line_space(int levels, size_t n) {
  SearchSpace s;
  for (size_t j = 0; j < n; ++j) {
    Knob k{"x" + std::to_string(j), Knob::Type::kGeneric, {}, -1};
    for (int l = 0; l < levels; ++l) k.levels.emplace_back(double(l));
    s.knobs.push_back(std::move(k));
  }
  return s;
}

TEST(Nsga2Variation, CrossoverChildrenStayBetweenOrNearTheirParents) {
  auto s = line_space(101, 4);
  s.knobs[3].fixed = 7;
  const Candidate a = {10, 50, 0, 7}, b = {30, 50, 100, 7};
  Rng rng(1);
  for (const auto& cross : {sbx_crossover(15), uniform_crossover(0.5)})
    for (int rep = 0; rep < 200; ++rep) {
      const auto c = cross(s, a, b, rng);
      EXPECT_EQ(c[1], 50);  // equal parents: equal child
      EXPECT_EQ(c[3], 7);   // frozen
      EXPECT_GE(c[0], 0);
      EXPECT_LE(c[0], 100);
    }
  // Uniform crossover only copies parents' levels.
  auto uniform = uniform_crossover(0.5);
  for (int rep = 0; rep < 50; ++rep) {
    const auto c = uniform(s, a, b, rng);
    EXPECT_TRUE(c[0] == 10 || c[0] == 30);
  }
}

TEST(Nsga2Variation, MutationMovesAtLeastOneLevelWithinBounds) {
  const auto s = line_space(3, 5);
  auto mutate = polynomial_mutation(1.0, 20);
  Rng rng(2);
  for (int rep = 0; rep < 200; ++rep) {
    Candidate c = {0, 1, 2, 0, 2};
    const Candidate before = c;
    mutate(s, c, rng);
    for (size_t j = 0; j < c.size(); ++j) {
      EXPECT_NE(c[j], before[j]);
      EXPECT_GE(c[j], 0);
      EXPECT_LE(c[j], 2);
    }
  }
}

TEST(Nsga2, ParentsAreTheBestOfEarlierGenerationsOnly) {
  const auto p = make_problem("zdt1");
  SamplerContext ctx = problem_context(p);
  Nsga2Sampler s(1, Nsga2Settings{.population_size = 4});
  // Generation 0: 4 trials; one trial of generation 1 finished too, and dominates everything.
  for (int t = 0; t < 5; ++t) {
    Candidate x(30, 50 + t);
    x[0] = 10 * t;
    if (t == 4) std::fill(x.begin() + 1, x.end(), 0);
    ctx.history.push_back({x, Observation::State::kComplete, p.evaluate(x), {}, t, {}});
  }
  ctx.history[2].state = Observation::State::kFail;
  ctx.history[2].values.clear();
  const auto parents = s.parents(ctx, 1);
  ASSERT_EQ(parents.x.size(), 3u);  // the failed trial is not a parent, trial 4 is too new
  for (const auto& x : parents.x) EXPECT_NE(x[1], 0);
  EXPECT_EQ(s.parents(ctx, 2).x.size(), 4u);
}

TEST(Nsga2, ExhaustsASmallSpaceWithoutRepeats) {
  // 27 candidates: once the population has converged, offspring keep repeating evaluated ones and
  // the sampler must still find the untried rest.
  const auto space = line_space(3, 3);
  SamplerContext ctx;
  ctx.space = &space;
  ctx.senses = {Sense::kMinimize, Sense::kMinimize};
  Nsga2Sampler s(9, Nsga2Settings{.population_size = 4});
  std::set<Candidate> seen;
  for (int t = 0; t < 27; ++t) {
    const auto x = s.ask(ctx, 1).at(0);
    EXPECT_TRUE(seen.insert(x).second) << "trial " << t;
    const double a = x[0] + x[1], b = 4.0 - x[0] + x[2];
    ctx.history.push_back({x, Observation::State::kComplete, {a, b}, {}, ctx.next_number++, {}});
  }
}

TEST(Nsga2, ImprovesOnRandomSearchOnZdt1) {
  const auto p = make_problem("zdt1");
  auto nsga2 = make_sampler("nsga2", 4, R"({"population_size": 20})");
  auto random = make_sampler("random", 4);
  const double hv_nsga2 = run_problem(*nsga2, p, 300).hypervolume.back();
  const double hv_random = run_problem(*random, p, 300).hypervolume.back();
  EXPECT_GT(hv_nsga2, hv_random + 1.0) << hv_nsga2 << " vs " << hv_random;
}

}  // namespace
}  // namespace autocompress
