// The hypervolume of every prefix of a sequence of points: a study's progress curve. Pure math.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "search/moo/pareto.hpp"

namespace autocompress {

// Hypervolume (search/moo/hypervolume.hpp) of the feasible points among the first i+1, for every i:
// the curve of a study's progress. Infeasible points (feasible[i] == 0) add nothing. Keeps the
// running front, so a point that is dominated costs O(|front| m) and only front changes pay for
// a hypervolume of the front.
std::vector<double> hypervolume_history(std::span<const double> points, size_t m,
                                        std::span<const Sense> sense,
                                        std::span<const uint8_t> feasible,
                                        std::span<const double> reference);
// The definition (the hypervolume of every prefix), the tests' reference.
std::vector<double> hypervolume_history_naive(std::span<const double> points, size_t m,
                                              std::span<const Sense> sense,
                                              std::span<const uint8_t> feasible,
                                              std::span<const double> reference);

}  // namespace autocompress
