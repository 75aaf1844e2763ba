// Pareto dominance over plain points: pure functions, no storage, no I/O.
// Points are n rows of m objective values, row-major. Senses say which way each objective is
// better. Constrained problems follow Deb et al. (2002) as Optuna does: only feasible points
// (every constraint value <= 0) can be in the front when any point is feasible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/sense.hpp"

namespace autocompress {

// True when a is no worse than b in every objective and strictly better in at least one.
bool dominates(std::span<const double> a, std::span<const double> b, std::span<const Sense> sense);

// True when every constraint value is <= 0 (no constraints: feasible). NaN is infeasible.
bool is_feasible(std::span<const double> constraints);

// Indices (ascending) of the non-dominated points among the feasible ones. `feasible` is empty
// (all feasible) or has one entry per point; if no point is feasible the front is empty.
// Equal points do not dominate each other: all copies are in the front.
// O(n log n + n * |front| * m): sorted lexicographically, a point can only be dominated by an
// earlier one, and only the front needs checking (transitivity).
std::vector<size_t> pareto_front(std::span<const double> points, size_t m,
                                 std::span<const Sense> sense,
                                 std::span<const uint8_t> feasible = {});

// The O(n^2 m) definition, the reference the tests compare pareto_front with.
std::vector<size_t> pareto_front_naive(std::span<const double> points, size_t m,
                                       std::span<const Sense> sense,
                                       std::span<const uint8_t> feasible = {});

}  // namespace autocompress
