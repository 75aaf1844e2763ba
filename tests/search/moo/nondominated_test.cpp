#include "search/moo/nondominated.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace autocompress {
namespace {

using S = Sense;
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(Nondominated, RanksByHand) {
  // minimize both: (1,4) (2,2) (4,1) front; (3,3) and (2,4) second; (4,4) third.
  const std::vector<double> p = {1, 4, 2, 2, 4, 1, 3, 3, 2, 4, 4, 4};
  const std::vector<Sense> sense(2, S::kMinimize);
  EXPECT_EQ(nondominated_ranks(p, 2, sense), (std::vector<int>{0, 0, 0, 1, 1, 2}));
  // Constraint-domination: (1,4) infeasible by 0.5 and (4,1) by 2 rank after every feasible point.
  const std::vector<double> v = {0.5, 0, 2, 0, 0, 0};
  EXPECT_EQ(nondominated_ranks(p, 2, sense, v), (std::vector<int>{3, 0, 4, 1, 1, 2}));
}

TEST(Nondominated, ConstraintDomination) {
  const std::vector<Sense> sense = {S::kMaximize};
  const std::vector<double> good = {0.9}, bad = {0.1};
  EXPECT_TRUE(constrained_dominates(good, 0, bad, 0, sense));
  EXPECT_TRUE(constrained_dominates(bad, 0, good, 0.1, sense));  // feasible beats infeasible
  EXPECT_TRUE(constrained_dominates(bad, 0.1, good, 0.2, sense));
  EXPECT_FALSE(constrained_dominates(good, 0.2, bad, 0.2, sense));
  EXPECT_DOUBLE_EQ(total_violation(std::vector<double>{-1, 0.5, 2}), 2.5);
  EXPECT_EQ(total_violation(std::vector<double>{NAN}), kInf);
  EXPECT_EQ(total_violation(std::vector<double>{}), 0.0);
}

TEST(Nondominated, FastSortMatchesTheDefinition) {
  std::mt19937 rng(3);
  for (size_t m = 1; m <= 4; ++m)
    for (int rep = 0; rep < 15; ++rep) {
      const size_t n = 1 + rng() % 60;
      std::vector<double> p(n * m), v(n);
      for (auto& x : p) x = rng() % 7;
      for (auto& x : v) x = rng() % 3 ? 0.0 : double(rng() % 3);
      std::vector<Sense> sense(m);
      for (auto& s : sense) s = rng() % 2 ? S::kMaximize : S::kMinimize;
      EXPECT_EQ(nondominated_ranks(p, m, sense), nondominated_ranks_naive(p, m, sense));
      EXPECT_EQ(nondominated_ranks(p, m, sense, v), nondominated_ranks_naive(p, m, sense, v));
    }
}

TEST(Nondominated, CrowdingDistanceByHand) {
  // One front of 4 points on a line: extremes infinite, inner ones (gap_x + gap_y) / range.
  const std::vector<double> p = {0, 3, 1, 2, 3, 0, 2, 1};
  const std::vector<size_t> front = {0, 1, 2, 3};
  const auto d = crowding_distance(p, 2, front);
  EXPECT_EQ(d[0], kInf);
  EXPECT_EQ(d[2], kInf);
  EXPECT_DOUBLE_EQ(d[1], 2.0 / 3 + 2.0 / 3);
  EXPECT_DOUBLE_EQ(d[3], 2.0 / 3 + 2.0 / 3);
  EXPECT_TRUE(crowding_distance(p, 2, std::vector<size_t>{}).empty());
}

TEST(Nondominated, SelectBestTakesFrontsThenCrowdingThenViolation) {
  const std::vector<Sense> sense(2, S::kMinimize);
  // Front: 0 (0,4), 1 (1,3), 2 (2,2.5), 3 (4,0); second front: 4 (2,4); infeasible 5, 6.
  const std::vector<double> p = {0, 4, 1, 3, 2, 2.5, 4, 0, 2, 4, 0, 0, -1, -1};
  const std::vector<double> v = {0, 0, 0, 0, 0, 3, 1};
  // Three of the front: both extremes, then the inner point with more room (2: 3/4+1/4... vs 1).
  const auto three = select_best(p, 2, sense, v, 3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0], 0u);
  EXPECT_EQ(three[1], 3u);
  EXPECT_EQ(three[2], 2u);  // (2,2.5): gaps (4-1)/4 + (3-0)/4 = 1.5 > (1,3): 2/4 + 1.5/4
  EXPECT_EQ(select_best(p, 2, sense, v, 7), (std::vector<size_t>{0, 3, 2, 1, 4, 6, 5}));
  // Rank order agrees with the full sort.
  const auto rank = nondominated_ranks(p, 2, sense, v);
  const auto all = select_best(p, 2, sense, v, 7);
  for (size_t k = 1; k < all.size(); ++k) EXPECT_LE(rank[all[k - 1]], rank[all[k]]);
}

TEST(Nondominated, SelectBestFollowsTheRanksOnRandomSets) {
  std::mt19937 rng(9);
  for (size_t m = 1; m <= 3; ++m)
    for (int rep = 0; rep < 20; ++rep) {
      const size_t n = 1 + rng() % 80, k = 1 + rng() % n;
      std::vector<double> p(n * m), v(n);
      for (auto& x : p) x = rng() % 9;
      for (auto& x : v) x = rng() % 4 ? 0.0 : double(1 + rng() % 3);
      std::vector<Sense> sense(m);
      for (auto& s : sense) s = rng() % 2 ? S::kMaximize : S::kMinimize;
      const auto rank = nondominated_ranks_naive(p, m, sense, v);
      const auto best = select_best(p, m, sense, v, k);
      ASSERT_EQ(best.size(), k);
      std::vector<int> taken(n, 0);
      for (size_t i = 0; i < k; ++i) {
        EXPECT_EQ(taken[best[i]]++, 0);
        if (i > 0) {
          EXPECT_LE(rank[best[i - 1]], rank[best[i]]);
        }
      }
      // Nothing left out ranks better than the worst taken.
      for (size_t i = 0; i < n; ++i) {
        if (!taken[i]) {
          EXPECT_GE(rank[i], rank[best.back()]);
        }
      }
    }
}

}  // namespace
}  // namespace autocompress
