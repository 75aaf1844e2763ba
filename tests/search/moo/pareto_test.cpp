#include "search/moo/pareto.hpp"

#include <gtest/gtest.h>

#include <random>

namespace autocompress {
namespace {

using S = Sense;

TEST(Pareto, DominanceFollowsTheSenses) {
  const std::vector<Sense> min_max = {S::kMinimize, S::kMaximize};
  EXPECT_TRUE(dominates(std::vector<double>{1, 5}, std::vector<double>{2, 5}, min_max));
  EXPECT_FALSE(dominates(std::vector<double>{1, 5}, std::vector<double>{1, 5}, min_max));
  EXPECT_FALSE(dominates(std::vector<double>{1, 4}, std::vector<double>{2, 5}, min_max));
  EXPECT_TRUE(dominates(std::vector<double>{2, 6}, std::vector<double>{2, 5}, min_max));
}

TEST(Pareto, SmallFrontByHand) {
  // (latency min, accuracy max)
  const std::vector<double> pts = {1, 0.80,   // 0 front
                                   2, 0.90,   // 1 front
                                   2, 0.85,   // 2 dominated by 1
                                   3, 0.95,   // 3 front
                                   4, 0.95,   // 4 dominated by 3
                                   3, 0.95};  // 5 equal to 3: front too
  const std::vector<Sense> sense = {S::kMinimize, S::kMaximize};
  EXPECT_EQ(pareto_front(pts, 2, sense), (std::vector<size_t>{0, 1, 3, 5}));
  const std::vector<uint8_t> feasible = {1, 1, 1, 0, 1, 0};  // 3 and 5 violate a constraint
  EXPECT_EQ(pareto_front(pts, 2, sense, feasible), (std::vector<size_t>{0, 1, 4}));
  EXPECT_TRUE(pareto_front(pts, 2, sense, std::vector<uint8_t>(6, 0)).empty());
  EXPECT_TRUE(pareto_front({}, 2, sense).empty());
}

TEST(Pareto, Feasibility) {
  EXPECT_TRUE(is_feasible(std::vector<double>{}));
  EXPECT_TRUE(is_feasible(std::vector<double>{0, -1}));
  EXPECT_FALSE(is_feasible(std::vector<double>{0, 1e-9}));
  EXPECT_FALSE(is_feasible(std::vector<double>{NAN}));
}

TEST(Pareto, MatchesTheNaiveDefinition) {
  std::mt19937 rng(7);
  for (size_t m = 1; m <= 4; ++m) {
    for (int rep = 0; rep < 20; ++rep) {
      const size_t n = 1 + rng() % 300;
      std::uniform_int_distribution<int> grid(0, 12);  // ties on purpose
      std::vector<double> pts(n * m);
      for (auto& v : pts) v = grid(rng);
      std::vector<Sense> sense(m);
      for (auto& s : sense) s = rng() % 2 ? S::kMaximize : S::kMinimize;
      std::vector<uint8_t> feasible(n);
      for (auto& f : feasible) f = rng() % 4 != 0;
      EXPECT_EQ(pareto_front(pts, m, sense), pareto_front_naive(pts, m, sense));
      EXPECT_EQ(pareto_front(pts, m, sense, feasible), pareto_front_naive(pts, m, sense, feasible));
    }
  }
}

}  // namespace
}  // namespace autocompress
