// The knee point of a Pareto front: pure math over plain points.
#pragma once

#include <cstddef>
#include <span>

#include "search/moo/pareto.hpp"

namespace autocompress {

// The knee of a front (rows of m values): the point farthest from the hyperplane through the
// front's extreme points, on the side of the ideal point, after normalizing each objective to
// [0, 1] over the front (Das 1999, "On characterizing the 'knee' of the Pareto curve based on
// normal-boundary intersection"; Branke, Deb, Dierolf, Osswald 2004, "Finding knees in
// multi-objective optimization"). In 2-D: the largest distance below the line through the two
// ends. When the extremes do not span a plane (duplicates, fewer than m distinct extremes) the
// plane sum(f) = 1 is used. Ties go to the lowest index. Throws UsageError for an empty front.
size_t knee_point(std::span<const double> points, size_t m, std::span<const Sense> sense);

}  // namespace autocompress
