#include "search/moo/nondominated.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "search/moo/hypervolume.hpp"

namespace autocompress {

namespace {

std::span<const double> row(std::span<const double> points, size_t m, size_t i) {
  return points.subspan(i * m, m);
}

bool dominates_at(std::span<const double> points, size_t m, std::span<const Sense> sense,
                  std::span<const double> violation, size_t a, size_t b) {
  if (violation.empty()) return dominates(row(points, m, a), row(points, m, b), sense);
  return constrained_dominates(row(points, m, a), violation[a], row(points, m, b), violation[b],
                               sense);
}

}  // namespace

double total_violation(std::span<const double> constraints) {
  double total = 0;
  for (double c : constraints) {
    if (std::isnan(c)) return std::numeric_limits<double>::infinity();
    if (c > 0) total += c;
  }
  return total;
}

bool constrained_dominates(std::span<const double> a, double violation_a, std::span<const double> b,
                           double violation_b, std::span<const Sense> sense) {
  if (violation_a == 0 && violation_b == 0) return dominates(a, b, sense);
  return violation_a < violation_b;
}

// Deb et al. (2002): count who dominates each point, then release the fronts one by one.
std::vector<int> nondominated_ranks(std::span<const double> points, size_t m,
                                    std::span<const Sense> sense,
                                    std::span<const double> violation) {
  const size_t n = m ? points.size() / m : 0;
  std::vector<std::vector<size_t>> dominated_by(n);
  std::vector<size_t> count(n, 0);
  for (size_t a = 0; a < n; ++a)
    for (size_t b = a + 1; b < n; ++b) {
      if (dominates_at(points, m, sense, violation, a, b)) {
        dominated_by[a].push_back(b);
        ++count[b];
      } else if (dominates_at(points, m, sense, violation, b, a)) {
        dominated_by[b].push_back(a);
        ++count[a];
      }
    }
  std::vector<int> rank(n, 0);
  std::vector<size_t> front;
  for (size_t i = 0; i < n; ++i)
    if (count[i] == 0) front.push_back(i);
  for (int r = 0; !front.empty(); ++r) {
    std::vector<size_t> next;
    for (size_t i : front) {
      rank[i] = r;
      for (size_t j : dominated_by[i])
        if (--count[j] == 0) next.push_back(j);
    }
    front = std::move(next);
  }
  return rank;
}

std::vector<int> nondominated_ranks_naive(std::span<const double> points, size_t m,
                                          std::span<const Sense> sense,
                                          std::span<const double> violation) {
  const size_t n = m ? points.size() / m : 0;
  std::vector<int> rank(n, -1);
  for (int r = 0, left = static_cast<int>(n); left > 0; ++r) {
    std::vector<size_t> front;
    for (size_t i = 0; i < n; ++i) {
      if (rank[i] >= 0) continue;
      bool dominated = false;
      for (size_t k = 0; k < n && !dominated; ++k)
        dominated = rank[k] < 0 && dominates_at(points, m, sense, violation, k, i);
      if (!dominated) front.push_back(i);
    }
    for (size_t i : front) rank[i] = r;
    left -= static_cast<int>(front.size());
  }
  return rank;
}

std::vector<double> crowding_distance(std::span<const double> points, size_t m,
                                      std::span<const size_t> front) {
  const size_t n = front.size();
  std::vector<double> distance(n, 0);
  std::vector<size_t> order(n);
  for (size_t j = 0; j < m; ++j) {
    auto value = [&](size_t k) { return points[front[k] * m + j]; };
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return value(a) < value(b); });
    if (n == 0) break;
    const double range = value(order.back()) - value(order.front());
    distance[order.front()] = distance[order.back()] = std::numeric_limits<double>::infinity();
    if (!(range > 0)) continue;
    for (size_t k = 1; k + 1 < n; ++k)
      distance[order[k]] += (value(order[k + 1]) - value(order[k - 1])) / range;
  }
  return distance;
}

namespace {

// Appends the `want` members of `front` with the largest crowding distance (ties: lower index).
void take_most_crowded(std::span<const double> points, size_t m, const std::vector<size_t>& front,
                       size_t want, std::vector<size_t>& out) {
  const auto d = crowding_distance(points, m, front);
  std::vector<size_t> order(front.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return d[a] > d[b]; });
  for (size_t k = 0; k < want; ++k) out.push_back(front[order[k]]);
}

}  // namespace

// Peels fronts off a list kept in lexicographic order (minimization keys): a point can only be
// dominated by an earlier one, and only by a member of the front being built (transitivity), as in
// pareto_front; what is left keeps its order for the next front.
std::vector<size_t> select_best(std::span<const double> points, size_t m,
                                std::span<const Sense> sense, std::span<const double> violation,
                                size_t k) {
  const size_t n = m ? points.size() / m : 0;
  const auto keys = to_minimization(points, m, sense);
  auto key = [&](size_t i) { return std::span<const double>(keys).subspan(i * m, m); };
  const std::vector<Sense> minimize(m, Sense::kMinimize);
  std::vector<size_t> left, infeasible, out;
  for (size_t i = 0; i < n; ++i)
    (violation.empty() || violation[i] == 0 ? left : infeasible).push_back(i);
  std::sort(left.begin(), left.end(), [&](size_t a, size_t b) {
    const auto x = key(a), y = key(b);
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end()) ||
           (std::equal(x.begin(), x.end(), y.begin()) && a < b);
  });
  while (out.size() < k && !left.empty()) {
    std::vector<size_t> front, rest;
    for (size_t i : left) {
      const bool dominated = std::any_of(front.begin(), front.end(), [&](size_t f) {
        return dominates(key(f), key(i), minimize);
      });
      (dominated ? rest : front).push_back(i);
    }
    std::sort(front.begin(), front.end());
    take_most_crowded(points, m, front, std::min(front.size(), k - out.size()), out);
    left = std::move(rest);
  }
  std::stable_sort(infeasible.begin(), infeasible.end(),
                   [&](size_t a, size_t b) { return violation[a] < violation[b]; });
  for (size_t i : infeasible)
    if (out.size() < k) out.push_back(i);
  return out;
}

}  // namespace autocompress
