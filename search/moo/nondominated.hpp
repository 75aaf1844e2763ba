// NSGA-II's ranking math (Deb, Pratap, Agarwal, Meyarivan 2002, "A fast and elitist multiobjective
// genetic algorithm: NSGA-II"): pure functions over plain points (n rows of m values, row-major),
// next to pareto.hpp's non-dominated front.
//
// Constraint-domination (Deb 2002, section VI): a point is feasible when its total violation is 0;
// a feasible point beats an infeasible one, of two infeasible points the smaller violation wins,
// and two feasible points compare by Pareto dominance.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "search/moo/pareto.hpp"

namespace autocompress {

// Sum of the positive constraint values; NaN counts as +infinity; no constraints = 0.
double total_violation(std::span<const double> constraints);

bool constrained_dominates(std::span<const double> a, double violation_a, std::span<const double> b,
                           double violation_b, std::span<const Sense> sense);

// Rank of every point: 0 = not dominated, r = dominated only by points of ranks < r. Uses
// constraint-domination when `violation` has one entry per point, Pareto dominance when empty.
// Fast non-dominated sorting, O(m n^2).
std::vector<int> nondominated_ranks(std::span<const double> points, size_t m,
                                    std::span<const Sense> sense,
                                    std::span<const double> violation = {});
// The definition (peel the non-dominated set off, again and again), O(m n^3): the tests' reference.
std::vector<int> nondominated_ranks_naive(std::span<const double> points, size_t m,
                                          std::span<const Sense> sense,
                                          std::span<const double> violation = {});

// Crowding distance of each member of `front` (indices into points), in front order: the two
// extremes of each objective get +infinity, the others the sum over objectives of the gap between
// their neighbours divided by the objective's range in the front.
std::vector<double> crowding_distance(std::span<const double> points, size_t m,
                                      std::span<const size_t> front);

// NSGA-II's survivor selection: the k best points (indices, in selection order) — whole fronts by
// rank, the last one cut by descending crowding distance; infeasible points after all feasible
// ones, by ascending violation. Peels off only the fronts it needs, each in O(n log n + n |F| m)
// with pareto_front, so picking 50 parents among 5,000 trials stays cheap.
std::vector<size_t> select_best(std::span<const double> points, size_t m,
                                std::span<const Sense> sense, std::span<const double> violation,
                                size_t k);

}  // namespace autocompress
