#include "search/moo/hypervolume.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "common/error.hpp"

namespace autocompress {
namespace {

using S = Sense;

std::vector<double> random_points(std::mt19937& rng, size_t n, size_t m, bool ties) {
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> grid(0, 6);
  std::vector<double> p(n * m);
  for (auto& v : p) v = ties ? grid(rng) / 6.0 : u(rng);
  return p;
}

TEST(Hypervolume, KnownValuesByHand) {
  const std::vector<double> ref2 = {4, 4};
  // Staircase (1,3), (2,2), (3,1): 3 + 2 + 1 unit squares from each step = 6.
  const std::vector<double> stairs = {1, 3, 2, 2, 3, 1};
  EXPECT_DOUBLE_EQ(hypervolume_2d_min(stairs, ref2), 6.0);
  const std::vector<double> ref3 = {2, 2, 2};
  const std::vector<double> unit = {1, 1, 1, 0, 0, 0};
  EXPECT_DOUBLE_EQ(hypervolume_3d_min(unit, ref3), 8.0);
  const std::vector<double> ref4 = {1, 1, 1, 1};
  const std::vector<double> two = {0, 0, 0.5, 0.5, 0.5, 0.5, 0, 0};
  // 0.25 + 0.25 - overlap (0.5^4)
  EXPECT_DOUBLE_EQ(hypervolume_wfg_min(two, 4, ref4), 0.5 - 0.0625);
  EXPECT_DOUBLE_EQ(hypervolume_2d_min({}, ref2), 0.0);
  // Points on or beyond the reference add nothing.
  EXPECT_DOUBLE_EQ(hypervolume_2d_min(std::vector<double>{4, 0, 5, 5}, ref2), 0.0);
}

TEST(Hypervolume, SensesFlipToMinimization) {
  // (accuracy max, size min): reference accuracy 0.5, size 10.
  const std::vector<double> pts = {0.9, 4, 0.7, 2};
  const std::vector<Sense> sense = {S::kMaximize, S::kMinimize};
  const std::vector<double> ref = {0.5, 10};
  // 0.4 * 6 + 0.2 * 2 = 2.8
  EXPECT_NEAR(hypervolume(pts, 2, ref, sense), 2.8, 1e-12);
  EXPECT_NEAR(hypervolume(std::vector<double>{0.9, 0.7}, 1, std::vector<double>{0.5},
                          std::vector<Sense>{S::kMaximize}),
              0.4, 1e-12);
  EXPECT_THROW(hypervolume(pts, 2, std::vector<double>{1}, sense), UsageError);
}

TEST(Hypervolume, ContinuousFrontsApproachTheirKnownOptima) {
  // ZDT1 front f2 = 1 - sqrt(f1): 2/3 at (1,1); DTLZ2's sphere octant: 1 - pi/6 at (1,1,1).
  std::vector<double> zdt1;
  for (int i = 0; i <= 2000; ++i) zdt1.insert(zdt1.end(), {i / 2000.0, 1 - std::sqrt(i / 2000.0)});
  EXPECT_NEAR(hypervolume_2d_min(zdt1, std::vector<double>{1, 1}), 2.0 / 3, 1e-3);
  std::vector<double> sphere;
  const int k = 120;
  for (int a = 0; a <= k; ++a)
    for (int b = 0; b <= k; ++b) {
      const double t = a * std::numbers::pi / 2 / k, u = b * std::numbers::pi / 2 / k;
      sphere.insert(sphere.end(),
                    {std::cos(t) * std::cos(u), std::cos(t) * std::sin(u), std::sin(t)});
    }
  EXPECT_NEAR(hypervolume_3d_min(sphere, std::vector<double>{1, 1, 1}), 1 - std::numbers::pi / 6,
              0.02);
  // 2-D and WFG agree with 3-D where they overlap in role.
  EXPECT_NEAR(hypervolume_wfg_min(zdt1, 2, std::vector<double>{1, 1}),
              hypervolume_2d_min(zdt1, std::vector<double>{1, 1}), 1e-12);
}

TEST(Hypervolume, FastPathsMatchTheGridReference) {
  std::mt19937 rng(11);
  for (size_t m = 2; m <= 5; ++m) {
    for (int rep = 0; rep < 40; ++rep) {
      const size_t n = 1 + rng() % (m <= 3 ? 25 : 9);
      const auto p = random_points(rng, n, m, rep % 2 == 0);
      const std::vector<double> ref(m, rep % 3 == 0 ? 1.0 : 0.9);  // some points outside
      const double expected = hypervolume_naive_min(p, m, ref);
      if (m == 2) {
        EXPECT_NEAR(hypervolume_2d_min(p, ref), expected, 1e-12);
      }
      if (m == 3) {
        EXPECT_NEAR(hypervolume_3d_min(p, ref), expected, 1e-12);
      }
      EXPECT_NEAR(hypervolume_wfg_min(p, m, ref), expected, 1e-12) << "m=" << m << " n=" << n;
    }
  }
}

TEST(Hypervolume, ThreeDimensionalSweepMatchesWfgOnLargeSets) {
  std::mt19937 rng(5);
  for (int rep = 0; rep < 5; ++rep) {
    auto p = random_points(rng, 300, 3, false);
    for (size_t i = 0; i < p.size(); i += 3) p[i + 2] = 1.5 - p[i] - p[i + 1] + 0.1 * p[i + 2];
    const std::vector<double> ref = {1.2, 1.2, 1.6};
    const double a = hypervolume_3d_min(p, ref),
                 b = hypervolume(p, 3, ref, std::vector<Sense>(3, S::kMinimize));
    EXPECT_NEAR(a, b, 1e-12);
    // WFG on 4-D with a constant 4th objective is the 3-D volume times the 4th side.
    std::vector<double> p4;
    for (size_t i = 0; i < p.size(); i += 3) p4.insert(p4.end(), {p[i], p[i + 1], p[i + 2], 0.0});
    EXPECT_NEAR(hypervolume_wfg_min(p4, 4, std::vector<double>{1.2, 1.2, 1.6, 2.0}), 2 * a, 1e-9);
  }
}

}  // namespace
}  // namespace autocompress
