// Expected hypervolume improvement (EHVI, Emmerich, Giannakoglou, Naujoks 2006) of a candidate over
// the current front: the bo sampler's acquisition. Closed form (a sum of hinges) when one objective
// is uncertain, also through the GP's warp; conditional quasi-Monte-Carlo with several. Pure
// functions over plain points (row-major n x m, objectives' own units and senses). The derivation:
// docs/search.md, "EHVI in closed form".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "search/moo/pareto.hpp"
#include "search/samplers/gp.hpp"

namespace autocompress {

// f(w) = sum_k slope[k] (w - at[k])^+, at ascending.
struct Hinges {
  std::vector<double> at, slope;
  double operator()(double w) const;
};

// HVI of `point` over `front` as a function of the gain of objective u (its value when maximized,
// minus its value when minimized); point[u] is ignored. Front points need not be non-dominated.
Hinges improvement_hinges(std::span<const double> front, size_t m, std::span<const double> point,
                          size_t u, std::span<const double> reference,
                          std::span<const Sense> sense);

// E[f(W)] for W ~ N(mu, sd^2); sd <= 0 gives f(mu).
double expected_hinges(const Hinges& f, double mu, double sd);

// f(g(z)) as hinges in z, for an increasing piecewise linear g.
Hinges compose(const Hinges& f, const PiecewiseLinear& g);

// The posterior of one uncertain objective: its GP variable z ~ N(mean, sd^2) and the increasing
// map from z to the objective's value (the inverse warp).
struct UncertainObjective {
  size_t index = 0;
  double mean = 0, sd = 0;
  const PiecewiseLinear* to_value = nullptr;  // nullptr: z is the value
};

// Quasi-random standard normal points, count x dims row-major (R_d sequence, Roberts 2018).
std::vector<double> qmc_normals(size_t count, size_t dims);

// EHVI of a candidate whose known objectives are in `point` and whose uncertain ones are
// described by `uncertain` (at least one). With several uncertain objectives, `normals` holds
// qmc_normals(count, uncertain.size() - 1).
double ehvi(std::span<const double> front, size_t m, std::span<const double> point,
            std::span<const UncertainObjective> uncertain, std::span<const double> reference,
            std::span<const Sense> sense, std::span<const double> normals = {});

// The Monte-Carlo estimate (and its standard error) with `samples` pseudo-random draws of every
// uncertain objective (seeded), exact hypervolumes of the front with and without the point: the
// tests' reference for ehvi.
struct Estimate {
  double mean = 0, se = 0;
};
Estimate ehvi_monte_carlo(std::span<const double> front, size_t m, std::span<const double> point,
                          std::span<const UncertainObjective> uncertain,
                          std::span<const double> reference, std::span<const Sense> sense,
                          size_t samples, uint64_t seed);

}  // namespace autocompress
