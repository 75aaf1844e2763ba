// search/moo/hypervolume_history.hpp: the incremental curve against the prefix definition.
#include "search/moo/hypervolume_history.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace autocompress {
namespace {

TEST(HypervolumeHistory, MatchesThePrefixDefinition) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t m : {2u, 3u}) {
    std::vector<double> pts;
    std::vector<uint8_t> feasible;
    for (int i = 0; i < 80; ++i) {
      for (size_t j = 0; j < m; ++j) pts.push_back(std::round(u(rng) * 20) / 20);
      feasible.push_back(i % 5 != 2);
    }
    const std::vector<Sense> sense = m == 2 ? std::vector<Sense>{Sense::kMaximize, Sense::kMinimize}
                                            : std::vector<Sense>(3, Sense::kMinimize);
    const std::vector<double> ref =
        m == 2 ? std::vector<double>{0.1, 0.9} : std::vector<double>{1, 1, 1};
    const auto fast = hypervolume_history(pts, m, sense, feasible, ref);
    const auto naive = hypervolume_history_naive(pts, m, sense, feasible, ref);
    ASSERT_EQ(fast.size(), 80u);
    for (size_t i = 0; i < fast.size(); ++i) EXPECT_NEAR(fast[i], naive[i], 1e-12) << m << " " << i;
    EXPECT_GT(fast.back(), 0);
    for (size_t i = 1; i < fast.size(); ++i) EXPECT_GE(fast[i], fast[i - 1]);
  }
}

}  // namespace
}  // namespace autocompress
