#include "bench/problems/benchmark_problems.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "common/error.hpp"
#include "search/moo/hypervolume.hpp"

namespace autocompress {
namespace {

// Optimal discretized front of a ZDT problem: x1 at every level, the rest at 0.
std::vector<double> zdt_front(const Problem& p) {
  std::vector<double> pts;
  for (int l = 0; l <= 100; ++l) {
    Candidate c(30, 0);
    c[0] = l;
    const auto f = p.evaluate(c);
    pts.insert(pts.end(), f.begin(), f.end());
  }
  return pts;
}

TEST(Problems, KnownValues) {
  const auto z1 = make_problem("zdt1");
  ASSERT_EQ(z1.space.size(), 30u);
  EXPECT_EQ(z1.space.knobs[0].levels.size(), 101u);
  Candidate c(30, 100);
  c[0] = 25;  // x1 = 0.25, g = 10
  EXPECT_EQ(z1.evaluate(c), (std::vector<double>{0.25, 10 * (1 - std::sqrt(0.025))}));
  const auto d = make_problem("dtlz2");
  ASSERT_EQ(d.space.size(), 12u);
  Candidate x(12, 50);
  x[0] = 0;
  x[1] = 100;  // on the front: (cos 0 sin pi/2 ...) = (0, 1, 0)
  const auto f = d.evaluate(x);
  EXPECT_NEAR(f[0], 0, 1e-12);
  EXPECT_NEAR(f[1], 1, 1e-12);
  EXPECT_NEAR(f[2], 0, 1e-12);
  EXPECT_THROW(make_problem("zdt9"), UsageError);
}

TEST(Problems, OptimalFrontsReachTheKnownHypervolume) {
  // At reference (1,1) the continuous fronts have 2/3 (ZDT1) and 1/3 (ZDT2). On 101 levels the
  // front is a staircase: sum over x1 = l / 100 of 0.01 * (1 - f2(x1)), l = 0..99.
  double zdt1 = 0, zdt2 = 0;
  for (int l = 0; l < 100; ++l) {
    zdt1 += 0.01 * std::sqrt(l / 100.0);
    zdt2 += 0.01 * (l / 100.0) * (l / 100.0);
  }
  const std::vector<double> ref = {1, 1};
  EXPECT_NEAR(hypervolume_2d_min(zdt_front(make_problem("zdt1")), ref), zdt1, 1e-12);
  EXPECT_NEAR(hypervolume_2d_min(zdt_front(make_problem("zdt2")), ref), zdt2, 1e-12);
  EXPECT_NEAR(zdt1, 2.0 / 3, 1e-2);
  EXPECT_NEAR(zdt2, 1.0 / 3, 1e-2);
  // At the benchmark's (11, 11): 120 more.
  EXPECT_NEAR(hypervolume_2d_min(zdt_front(make_problem("zdt1")), std::vector<double>{11, 11}),
              120 + zdt1, 1e-9);
}

TEST(Problems, RunProblemTracesANondecreasingHypervolume) {
  const auto p = make_problem("zdt1");
  auto s = make_sampler("nsga2", 1, R"({"population_size": 10})");
  const auto run = run_problem(*s, p, 60);
  ASSERT_EQ(run.hypervolume.size(), 60u);
  EXPECT_GT(run.hypervolume.front(), 0);
  for (size_t i = 1; i < run.hypervolume.size(); ++i)
    EXPECT_GE(run.hypervolume[i], run.hypervolume[i - 1]);
}

}  // namespace
}  // namespace autocompress
