#include "search/samplers/ehvi.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "search/moo/hypervolume.hpp"
#include "search/samplers/rng.hpp"

namespace autocompress {

namespace {

double to_min(double v, Sense s) { return s == Sense::kMaximize ? -v : v; }

// Hypervolume of points (minimization form, `dims` columns) w.r.t. ref.
double hv_min(std::span<const double> points, size_t dims, std::span<const double> ref) {
  if (points.empty()) return 0;
  if (dims == 2) return hypervolume_2d_min(points, ref);
  if (dims == 3) return hypervolume_3d_min(points, ref);
  return hypervolume_wfg_min(points, dims, ref);
}

// tau(x) = E[(X + x)^+] for X ~ N(0, 1) = x Phi(x) + phi(x); beyond |x| = 10 it is x^+ to
// within 1e-23 (most of a warped objective's hinges lie there).
double tau(double x) {
  if (x < -10) return 0;
  if (x > 10) return x;
  const double cdf = 0.5 * std::erfc(-x / std::numbers::sqrt2);
  const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi);
  return x * cdf + pdf;
}

}  // namespace

double Hinges::operator()(double w) const {
  double v = 0;
  for (size_t k = 0; k < at.size(); ++k) v += slope[k] * std::max(w - at[k], 0.0);
  return v;
}

Hinges improvement_hinges(std::span<const double> front, size_t m, std::span<const double> point,
                          size_t u, std::span<const double> reference,
                          std::span<const Sense> sense) {
  std::vector<double> p(m), r(m), r_rest;
  double box = 1;
  for (size_t j = 0; j < m; ++j) {
    p[j] = to_min(point[j], sense[j]);
    r[j] = to_min(reference[j], sense[j]);
    if (j == u) continue;
    if (!(p[j] < r[j])) return {};  // the known objectives already miss the reference
    box *= r[j] - p[j];
    r_rest.push_back(r[j]);
  }
  // Front points inside the reference: value in u, the others clipped to the box (flat rows).
  const size_t d = m - 1;
  std::vector<double> fu, clipped;
  for (size_t i = 0; i + m <= front.size(); i += m) {
    bool inside = to_min(front[i + u], sense[u]) < r[u];
    for (size_t j = 0; j < m && inside; ++j)
      if (j != u) inside = to_min(front[i + j], sense[j]) < r[j];
    if (!inside) continue;
    fu.push_back(to_min(front[i + u], sense[u]));
    for (size_t j = 0; j < m; ++j)
      if (j != u) clipped.push_back(std::max(to_min(front[i + j], sense[j]), p[j]));
  }
  std::vector<size_t> order(fu.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return fu[a] < fu[b]; });
  // A_k after each distinct value v_k of objective u (the slice areas), ascending in v; once the
  // box is covered the areas stay 0.
  std::vector<double> v, area, active;
  double lowest = r_rest.empty() ? 0.0 : r_rest[0];  // m = 2: the slice is an interval
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    active.insert(active.end(), clipped.begin() + long(i * d), clipped.begin() + long((i + 1) * d));
    lowest = std::min(lowest, clipped[i * d]);
    if (k + 1 < order.size() && fu[order[k + 1]] == fu[i]) continue;
    v.push_back(fu[i]);
    area.push_back(d == 1 ? box - (r_rest[0] - lowest)
                          : std::max(box - hv_min(active, d, r_rest), 0.0));
    if (area.back() <= 0) break;
  }
  // Gains ascending: -r_u with slope A_K, then -v_K, ..., -v_1 where the slope grows to A_{k-1}.
  Hinges h;
  const size_t big_k = v.size();
  h.at.push_back(-r[u]);
  h.slope.push_back(big_k ? area[big_k - 1] : box);
  for (size_t k = big_k; k >= 1; --k) {
    const double before = k >= 2 ? area[k - 2] : box;  // A_{k-1}
    if (before == area[k - 1]) continue;
    h.at.push_back(-v[k - 1]);
    h.slope.push_back(before - area[k - 1]);
  }
  return h;
}

double expected_hinges(const Hinges& f, double mu, double sd) {
  if (!(sd > 0)) return f(mu);
  double e = 0;
  for (size_t k = 0; k < f.at.size(); ++k) e += f.slope[k] * sd * tau((mu - f.at[k]) / sd);
  return e;
}

namespace {

// An increasing piecewise linear map, or its reflection v -> -g(-v), read without copying.
struct MapView {
  const PiecewiseLinear& g;
  bool reflected;
  size_t size() const { return g.x.size(); }
  double x(size_t i) const { return reflected ? -g.x[size() - 1 - i] : g.x[i]; }
  double operator()(double v) const { return reflected ? -g(-v) : g(v); }
  double inverse(double w) const { return reflected ? -g.inverse_at(-w) : g.inverse_at(w); }
};

// f(g(z)) as hinges: breakpoints g^-1(a_k) and g's knots above the first, merged in one pass;
// f is evaluated incrementally along the ascending breakpoints.
Hinges compose_view(const Hinges& f, const MapView& g) {
  if (f.at.empty()) return {};
  Hinges h;
  const double b0 = g.inverse(f.at[0]);
  size_t k = 1, i = 0;  // next hinge of f, next knot of g
  while (i < g.size() && g.x(i) <= b0) ++i;
  double b = b0, w = f.at[0], value = 0, f_slope = f.slope[0], previous_slope = 0;
  size_t next_f = 1;  // f's hinges at or below w are in f_slope
  while (true) {
    double next;
    if (k < f.at.size() && (i >= g.size() || g.inverse(f.at[k]) <= g.x(i)))
      next = g.inverse(f.at[k++]);
    else if (i < g.size())
      next = g.x(i++);
    else
      break;
    if (next <= b) continue;
    const double next_w = g(next);
    double next_value = value;  // f from w to next_w, crossing its hinges
    for (double at = w; next_f < f.at.size() && f.at[next_f] <= next_w; ++next_f) {
      next_value += f_slope * (f.at[next_f] - at);
      at = f.at[next_f];
      w = at;
      f_slope += f.slope[next_f];
    }
    next_value += f_slope * (next_w - w);
    const double slope = (next_value - value) / (next - b);
    h.at.push_back(b);
    h.slope.push_back(slope - previous_slope);
    previous_slope = slope;
    b = next, w = next_w, value = next_value;
  }
  // Beyond every breakpoint: f's last slope times g's tail slope.
  for (; next_f < f.at.size(); ++next_f) f_slope += f.slope[next_f];
  h.at.push_back(b);
  h.slope.push_back(f_slope * g.g.tail_slope - previous_slope);
  return h;
}

}  // namespace

Hinges compose(const Hinges& f, const PiecewiseLinear& g) { return compose_view(f, {g, false}); }

std::vector<double> qmc_normals(size_t count, size_t dims) {
  if (dims == 0) return {};
  double phi = 2;  // the root of x^(d+1) = x + 1 (Roberts 2018), by fixed-point iteration
  for (int i = 0; i < 50; ++i) phi = std::pow(1 + phi, 1.0 / static_cast<double>(dims + 1));
  std::vector<double> out(count * dims);
  for (size_t n = 0; n < count; ++n)
    for (size_t j = 0; j < dims; ++j) {
      const double alpha = std::pow(1 / phi, static_cast<double>(j + 1));
      const double uq = 0.5 + static_cast<double>(n + 1) * alpha;
      out[n * dims + j] = normal_quantile(uq - std::floor(uq));
    }
  return out;
}

namespace {

// EHVI integrated in closed form over `last`, the point's other values fixed.
double closed_form(std::span<const double> front, size_t m, std::span<const double> point,
                   const UncertainObjective& last, std::span<const double> reference,
                   std::span<const Sense> sense) {
  const Hinges h = improvement_hinges(front, m, point, last.index, reference, sense);
  if (h.at.empty()) return 0;
  const bool maximize = sense[last.index] == Sense::kMaximize;
  const double mu = maximize ? last.mean : -last.mean;  // the gain's GP variable
  if (!last.to_value) return expected_hinges(h, mu, last.sd);
  return expected_hinges(compose_view(h, {*last.to_value, !maximize}), mu, last.sd);
}

double value_of(const UncertainObjective& o, double z) { return o.to_value ? (*o.to_value)(z) : z; }

}  // namespace

double ehvi(std::span<const double> front, size_t m, std::span<const double> point,
            std::span<const UncertainObjective> uncertain, std::span<const double> reference,
            std::span<const Sense> sense, std::span<const double> normals) {
  std::vector<double> pt(point.begin(), point.end());
  const size_t k = uncertain.size() - 1;
  if (k == 0) return closed_form(front, m, pt, uncertain.back(), reference, sense);
  const size_t count = normals.size() / k;
  double total = 0;
  for (size_t s = 0; s < count; ++s) {
    for (size_t i = 0; i < k; ++i)
      pt[uncertain[i].index] =
          value_of(uncertain[i], uncertain[i].mean + uncertain[i].sd * normals[s * k + i]);
    total += closed_form(front, m, pt, uncertain.back(), reference, sense);
  }
  return count ? total / static_cast<double>(count) : 0.0;
}

Estimate ehvi_monte_carlo(std::span<const double> front, size_t m, std::span<const double> point,
                          std::span<const UncertainObjective> uncertain,
                          std::span<const double> reference, std::span<const Sense> sense,
                          size_t samples, uint64_t seed) {
  Rng rng(seed);
  const double base = hypervolume(front, m, reference, sense);
  std::vector<double> with(front.begin(), front.end());
  with.insert(with.end(), point.begin(), point.end());
  double total = 0, squares = 0;
  for (size_t s = 0; s < samples; ++s) {
    for (const auto& o : uncertain) {  // Box-Muller
      const double a = 1 - rng.uniform(), b = rng.uniform();
      const double z = std::sqrt(-2 * std::log(a)) * std::cos(2 * std::numbers::pi * b);
      with[front.size() + o.index] = value_of(o, o.mean + o.sd * z);
    }
    const double gain = hypervolume(with, m, reference, sense) - base;
    total += gain;
    squares += gain * gain;
  }
  const double n = static_cast<double>(samples), mean = total / n;
  return {mean, std::sqrt(std::max(squares / n - mean * mean, 0.0) / n)};
}

}  // namespace autocompress
