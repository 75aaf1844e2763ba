// Expected hypervolume improvement (EHVI, Emmerich, Giannakoglou, Naujoks 2006) of one candidate
// over the current front, when one objective is uncertain and the others are known: the bo
// sampler's acquisition. Pure functions over plain points (row-major n x m, objectives' own units
// and senses, as search/moo/hypervolume.hpp).
//
// Closed form. Work in minimization form (maximized objectives negated); let u be the uncertain
// objective, t the candidate's value in it, p_-u its known values, r the reference point. The
// improvement is the part of the box [p, r] that no front point dominates:
//   HVI(t) = integral_t^{r_u} A(s) ds,   A(s) = vol_{m-1}([p_-u, r_-u] \ union_{f: f_u <= s} [f_-u,
//   r_-u]),
// where A(s) is the area of the slice of the box at height s that the front points below s leave
// free. A is a step function that only changes at the front's values v_1 < ... < v_K of objective
// u: A_k = box area - HV_{m-1}(front points with f_u <= v_k, clipped to the box) on [v_k, v_{k+1})
// (A_0 = the box area below v_1, v_{K+1} = r_u). So HVI is continuous and piecewise linear in the
// gain w = -t (= the objective itself when maximized), zero for w <= -r_u, convex, with slope A_K
// just above -r_u growing to A_0 above -v_1: a sum of hinges,
//   HVI(w) = sum_k c_k (w - a_k)^+,   a = (-r_u, -v_K, ..., -v_1), c = (A_K, A_{K-1} - A_K, ...).
// For W ~ N(mu, sd^2): E[(W - a)^+] = sd tau((mu - a) / sd) with tau(x) = x Phi(x) + phi(x) (the
// expected-improvement integral), so EHVI = sum_k c_k sd tau((mu - a_k) / sd), O(K) given the
// hinges; building them costs K hypervolumes in m - 1 dimensions.
//
// The GP models a warped objective z = T(y) (search/samplers/gp.hpp: copula_warp, increasing and piecewise
// linear), so the gain is w = g(z) with g piecewise linear too; HVI(g(z)) is again a sum of hinges
// in z (breakpoints g^-1(a_k) and g's knots), and the same formula applies exactly.
//
// Several uncertain objectives (fully black-box problems): conditional Monte-Carlo — all but the
// last uncertain objective are drawn at fixed quasi-random normal points (a Kronecker / R_d
// sequence through Phi^-1: deterministic, no seed), the last one is integrated in closed form
// (variance reduction by conditioning, exact when only one objective is uncertain).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "search/samplers/gp.hpp"
#include "search/moo/pareto.hpp"

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
