// The closed-form expected hypervolume improvement against exact hypervolume differences (the
// improvement function itself) and Monte-Carlo (its expectation), on 2- and 3-objective fronts,
// both senses, with and without the copula warp; conditional quasi-Monte-Carlo with several
// uncertain objectives.
#include "search/samplers/ehvi.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "search/moo/hypervolume.hpp"
#include "search/samplers/rng.hpp"

namespace autocompress {
namespace {

struct Case {
  size_t m;
  std::vector<Sense> sense;
  std::vector<double> reference, front;
};

// A random non-dominated-ish front: points near the simplex, in the objectives' own senses.
Case random_case(size_t m, std::vector<Sense> sense, size_t n, uint64_t seed) {
  Rng rng(seed);
  Case c{m, sense, std::vector<double>(m), {}};
  for (size_t j = 0; j < m; ++j) c.reference[j] = sense[j] == Sense::kMaximize ? -1.1 : 1.1;
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> p(m);
    double sum = 0;
    for (auto& v : p) sum += (v = 0.05 + rng.uniform());
    for (size_t j = 0; j < m; ++j) {
      const double v = p[j] / sum * (0.8 + 0.3 * rng.uniform());
      c.front.push_back(sense[j] == Sense::kMaximize ? -v : v);
    }
  }
  return c;
}

TEST(ImprovementHinges, EqualExactHypervolumeDifferences) {
  for (const auto& c :
       {random_case(2, {Sense::kMinimize, Sense::kMaximize}, 8, 1),
        random_case(3, {Sense::kMaximize, Sense::kMinimize, Sense::kMinimize}, 12, 2),
        random_case(3, {Sense::kMinimize, Sense::kMinimize, Sense::kMinimize}, 1, 3)}) {
    const double base = hypervolume(c.front, c.m, c.reference, c.sense);
    Rng rng(9);
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<double> point(c.m);
      for (size_t j = 0; j < c.m; ++j) {
        const double v = 0.6 * rng.uniform();
        point[j] = c.sense[j] == Sense::kMaximize ? -v : v;
      }
      for (size_t u = 0; u < c.m; ++u) {
        const Hinges h = improvement_hinges(c.front, c.m, point, u, c.reference, c.sense);
        for (double y = -1.3; y <= 1.3; y += 0.05) {
          auto with = c.front;
          auto p = point;
          p[u] = y;
          with.insert(with.end(), p.begin(), p.end());
          const double exact = hypervolume(with, c.m, c.reference, c.sense) - base;
          const double gain = c.sense[u] == Sense::kMaximize ? y : -y;
          ASSERT_NEAR(h(gain), exact, 1e-12) << "m " << c.m << " u " << u << " y " << y;
        }
      }
    }
  }
}

TEST(ImprovementHinges, KnownObjectivesBeyondTheReferenceGiveNothing) {
  const auto c = random_case(2, {Sense::kMinimize, Sense::kMinimize}, 5, 4);
  const std::vector<double> point = {1.5, 0.0};
  EXPECT_TRUE(improvement_hinges(c.front, 2, point, 1, c.reference, c.sense).at.empty());
}

TEST(ExpectedHinges, ClosedFormMatchesMonteCarlo) {
  for (const auto& c :
       {random_case(2, {Sense::kMinimize, Sense::kMaximize}, 6, 5),
        random_case(3, {Sense::kMinimize, Sense::kMinimize, Sense::kMaximize}, 10, 6)}) {
    const PiecewiseLinear warp = copula_warp({-0.9, -0.5, -0.45, -0.3, -0.1, 0.0, 0.2});
    const PiecewiseLinear unwarp = warp.inverse();
    for (const PiecewiseLinear* map : {static_cast<const PiecewiseLinear*>(nullptr), &unwarp}) {
      for (size_t u = 0; u < c.m; ++u) {
        std::vector<double> point(c.m);
        for (size_t j = 0; j < c.m; ++j) point[j] = c.sense[j] == Sense::kMaximize ? -0.15 : 0.15;
        const double mid = c.sense[u] == Sense::kMaximize ? -0.3 : 0.3;
        const UncertainObjective o{u, map ? warp(mid) : mid, map ? 0.8 : 0.25, map};
        const double closed = ehvi(c.front, c.m, point, {&o, 1}, c.reference, c.sense);
        const Estimate mc =
            ehvi_monte_carlo(c.front, c.m, point, {&o, 1}, c.reference, c.sense, 40000, 17);
        EXPECT_GT(closed, 0);
        EXPECT_NEAR(closed, mc.mean, 4.5 * mc.se + 1e-12) << "m " << c.m << " u " << u;
      }
    }
  }
}

TEST(ExpectedHinges, ZeroSpreadIsTheImprovementAtTheMean) {
  const Hinges h{{-1, 0, 0.5}, {1, 2, -0.5}};
  EXPECT_DOUBLE_EQ(expected_hinges(h, 0.25, 0), h(0.25));
  EXPECT_NEAR(expected_hinges(h, 0.25, 1e-9), h(0.25), 1e-9);
}

TEST(Compose, EqualsTheFunctionThroughTheMap) {
  const Hinges f{{-0.5, 0.1, 0.3}, {0.7, 1.1, 0.4}};
  const PiecewiseLinear g = copula_warp({-2, -1, 0.0, 0.2, 0.25, 3}).inverse();
  const Hinges h = compose(f, g);
  for (double z = -5; z <= 5; z += 0.01) ASSERT_NEAR(h(z), f(g(z)), 1e-12) << z;
}

TEST(Ehvi, ConditionalQuasiMonteCarloWithSeveralUncertainObjectives) {
  const auto c = random_case(3, {Sense::kMinimize, Sense::kMinimize, Sense::kMinimize}, 10, 8);
  const std::vector<double> point = {0.2, 0.0, 0.0};  // entries 1 and 2 are uncertain
  const PiecewiseLinear warp = copula_warp({0.1, 0.2, 0.4, 0.45, 0.7});
  const PiecewiseLinear unwarp = warp.inverse();
  const std::vector<UncertainObjective> unc = {{1, 0.25, 0.15, nullptr},
                                               {2, warp(0.3), 0.6, &unwarp}};
  const double qmc = ehvi(c.front, 3, point, unc, c.reference, c.sense, qmc_normals(256, 1));
  const Estimate mc = ehvi_monte_carlo(c.front, 3, point, unc, c.reference, c.sense, 40000, 3);
  EXPECT_NEAR(qmc, mc.mean, 4.5 * mc.se + 0.01 * mc.mean);
}

TEST(QmcNormals, HaveStandardMoments) {
  const auto z = qmc_normals(512, 2);
  ASSERT_EQ(z.size(), 1024u);
  for (size_t j = 0; j < 2; ++j) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < 512; ++i) s += z[2 * i + j], s2 += z[2 * i + j] * z[2 * i + j];
    EXPECT_NEAR(s / 512, 0, 0.02);
    EXPECT_NEAR(s2 / 512, 1, 0.05);
  }
}

}  // namespace
}  // namespace autocompress
