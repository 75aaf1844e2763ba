#include "search/moo/pareto.hpp"

#include <algorithm>
#include <numeric>

namespace autocompress {

namespace {

// Objective j of a point as a value to minimize.
double key(std::span<const double> p, size_t j, std::span<const Sense> sense) {
  return sense[j] == Sense::kMaximize ? -p[j] : p[j];
}

std::span<const double> row(std::span<const double> points, size_t m, size_t i) {
  return points.subspan(i * m, m);
}

bool usable(std::span<const uint8_t> feasible, size_t i, bool any_feasible) {
  return !any_feasible || feasible.empty() || feasible[i];
}

bool any_of_feasible(std::span<const uint8_t> feasible, size_t n) {
  if (feasible.empty()) return n > 0;
  return std::any_of(feasible.begin(), feasible.end(), [](uint8_t f) { return f != 0; });
}

}  // namespace

bool dominates(std::span<const double> a, std::span<const double> b, std::span<const Sense> sense) {
  bool strictly = false;
  for (size_t j = 0; j < sense.size(); ++j) {
    const double x = key(a, j, sense), y = key(b, j, sense);
    if (x > y) return false;
    if (x < y) strictly = true;
  }
  return strictly;
}

bool is_feasible(std::span<const double> constraints) {
  return std::all_of(constraints.begin(), constraints.end(), [](double c) { return c <= 0; });
}

std::vector<size_t> pareto_front(std::span<const double> points, size_t m,
                                 std::span<const Sense> sense, std::span<const uint8_t> feasible) {
  const size_t n = m ? points.size() / m : 0;
  if (!any_of_feasible(feasible, n)) return {};
  std::vector<size_t> order;
  for (size_t i = 0; i < n; ++i)
    if (usable(feasible, i, true)) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    for (size_t j = 0; j < m; ++j) {
      const double x = key(row(points, m, a), j, sense), y = key(row(points, m, b), j, sense);
      if (x != y) return x < y;
    }
    return a < b;
  });
  std::vector<size_t> front;
  for (size_t i : order) {
    const auto p = row(points, m, i);
    const bool dominated = std::any_of(front.begin(), front.end(), [&](size_t f) {
      return dominates(row(points, m, f), p, sense);
    });
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end());
  return front;
}

std::vector<size_t> pareto_front_naive(std::span<const double> points, size_t m,
                                       std::span<const Sense> sense,
                                       std::span<const uint8_t> feasible) {
  const size_t n = m ? points.size() / m : 0;
  if (!any_of_feasible(feasible, n)) return {};
  std::vector<size_t> front;
  for (size_t i = 0; i < n; ++i) {
    if (!usable(feasible, i, true)) continue;
    bool dominated = false;
    for (size_t k = 0; k < n && !dominated; ++k)
      dominated =
          usable(feasible, k, true) && dominates(row(points, m, k), row(points, m, i), sense);
    if (!dominated) front.push_back(i);
  }
  return front;
}

}  // namespace autocompress
