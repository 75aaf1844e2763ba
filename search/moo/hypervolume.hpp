// Exact hypervolume (the Lebesgue measure of the region dominated by a point set and bounded by a
// reference point): pure functions over plain points, row-major n x m.
//
// The *_min functions take points in minimization form; `hypervolume` flips maximized objectives
// (x -> -x, the reference too) and dispatches: 2-D sweep in O(n log n), 3-D sweep with a balanced
// tree in O(n log n) (Beume, Fonseca, Lopez-Ibanez, Paquete, Vahrenhold 2009, "On the complexity
// of computing the hypervolume indicator"), WFG for m >= 4 (While, Bradstreet, Barone 2012, "A fast
// way of calculating exact hypervolumes"). Points that do not strictly dominate the reference point
// in every objective add nothing. NaN values add nothing.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "search/moo/pareto.hpp"

namespace autocompress {

double hypervolume(std::span<const double> points, size_t m, std::span<const double> reference,
                   std::span<const Sense> sense);

double hypervolume_2d_min(std::span<const double> points, std::span<const double> reference);
double hypervolume_3d_min(std::span<const double> points, std::span<const double> reference);
double hypervolume_wfg_min(std::span<const double> points, size_t m,
                           std::span<const double> reference);
// Any m: the cells of the grid spanned by all coordinates, each counted when a point dominates its
// lower corner. O(n^(m+1) m): the reference the tests compare the fast paths with.
double hypervolume_naive_min(std::span<const double> points, size_t m,
                             std::span<const double> reference);

// The rows that strictly dominate the reference point (the others add no volume).
std::vector<double> inside_reference(std::span<const double> points, size_t m,
                                     std::span<const double> reference);

// Points in minimization form (maximized objectives negated), and the reference likewise.
std::vector<double> to_minimization(std::span<const double> points, size_t m,
                                    std::span<const Sense> sense);

}  // namespace autocompress
