// search/moo/knee.hpp: the knee point in 2-D and 3-D.
#include "search/moo/knee.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "common/error.hpp"

namespace autocompress {
namespace {

TEST(KneePoint, TwoObjectivesFarthestBelowTheLineThroughTheEnds) {
  // Minimize both: distances to x + y = 1 are 0, 0.5, 0.35, 0.
  const std::vector<double> pts = {0, 1, 0.2, 0.3, 0.5, 0.15, 1, 0};
  const std::vector<Sense> min2 = {Sense::kMinimize, Sense::kMinimize};
  EXPECT_EQ(knee_point(pts, 2, min2), 1u);
  // The same front with the first objective maximized (x -> 10 - 10 x) and shifted scales.
  std::vector<double> flipped;
  for (size_t i = 0; i < pts.size(); i += 2)
    flipped.push_back(10 - 10 * pts[i]), flipped.push_back(100 * pts[i + 1] + 3);
  EXPECT_EQ(knee_point(flipped, 2, std::vector<Sense>{Sense::kMaximize, Sense::kMinimize}), 1u);
  EXPECT_EQ(knee_point(std::vector<double>{3, 4}, 2, min2), 0u);
  EXPECT_THROW(knee_point(std::vector<double>{}, 2, min2), UsageError);
}

TEST(KneePoint, ThreeObjectivesUsesThePlaneThroughTheExtremes) {
  // Extremes (0,.5,1), (1,0,.5), (.5,1,0) span the plane x+y+z = 1.5 (w = 2/3 each); the
  // point (.3,.3,.3) is 0.6 below it, (.4,.4,.2) 0.5 below: the knee is the former.
  const std::vector<double> pts = {0, .5, 1, 1, 0, .5, .5, 1, 0, .4, .4, .2, .3, .3, .3};
  const std::vector<Sense> min3(3, Sense::kMinimize);
  EXPECT_EQ(knee_point(pts, 3, min3), 4u);
}

}  // namespace
}  // namespace autocompress
