#include "search/moo/hypervolume.hpp"

#include <algorithm>
#include <numeric>

#include "common/error.hpp"

namespace autocompress {

std::vector<double> inside_reference(std::span<const double> points, size_t m,
                                     std::span<const double> reference) {
  std::vector<double> out;
  out.reserve(points.size());
  for (size_t i = 0; i + m <= points.size(); i += m) {
    bool inside = true;
    for (size_t j = 0; j < m; ++j) inside = inside && points[i + j] < reference[j];
    if (inside) out.insert(out.end(), points.begin() + i, points.begin() + i + m);
  }
  return out;
}

std::vector<double> to_minimization(std::span<const double> points, size_t m,
                                    std::span<const Sense> sense) {
  std::vector<double> out(points.begin(), points.end());
  for (size_t i = 0; i < out.size(); ++i)
    if (sense[i % m] == Sense::kMaximize) out[i] = -out[i];
  return out;
}

double hypervolume(std::span<const double> points, size_t m, std::span<const double> reference,
                   std::span<const Sense> sense) {
  if (m == 0 || reference.size() != m || sense.size() != m || points.size() % m != 0)
    throw UsageError("hypervolume: " + std::to_string(points.size()) + " values, " +
                     std::to_string(reference.size()) + " reference values and " +
                     std::to_string(sense.size()) + " senses for " + std::to_string(m) +
                     " objectives");
  const auto pts = to_minimization(points, m, sense);
  const auto ref = to_minimization(reference, m, sense);
  if (m == 1) {
    double best = ref[0];
    for (double v : inside_reference(pts, 1, ref)) best = std::min(best, v);
    return ref[0] - best;
  }
  if (m == 2) return hypervolume_2d_min(pts, ref);
  if (m == 3) return hypervolume_3d_min(pts, ref);
  return hypervolume_wfg_min(pts, m, ref);
}

// Sorted by x, each point that lowers the staircase adds the strip between its y and the lowest y
// so far, from its x to the reference.
double hypervolume_2d_min(std::span<const double> points, std::span<const double> reference) {
  auto p = inside_reference(points, 2, reference);
  const size_t n = p.size() / 2;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return p[2 * a] != p[2 * b] ? p[2 * a] < p[2 * b] : p[2 * a + 1] < p[2 * b + 1];
  });
  double volume = 0, lowest = reference[1];
  for (size_t i : order) {
    if (p[2 * i + 1] >= lowest) continue;
    volume += (reference[0] - p[2 * i]) * (lowest - p[2 * i + 1]);
    lowest = p[2 * i + 1];
  }
  return volume;
}

namespace {

// Lower corners of the grid cells along one axis: every coordinate below the reference, sorted.
std::vector<double> axis_cuts(std::span<const double> p, size_t m, size_t j, double ref) {
  std::vector<double> cuts;
  for (size_t i = j; i < p.size(); i += m) cuts.push_back(p[i]);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  cuts.push_back(ref);
  return cuts;
}

}  // namespace

double hypervolume_naive_min(std::span<const double> points, size_t m,
                             std::span<const double> reference) {
  const auto p = inside_reference(points, m, reference);
  if (p.empty()) return 0;
  std::vector<std::vector<double>> cuts(m);
  for (size_t j = 0; j < m; ++j) cuts[j] = axis_cuts(p, m, j, reference[j]);
  std::vector<size_t> cell(m, 0);  // odometer over the cells
  double volume = 0;
  while (true) {
    bool covered = false;
    for (size_t i = 0; i < p.size() && !covered; i += m) {
      bool dominates_corner = true;
      for (size_t j = 0; j < m; ++j)
        dominates_corner = dominates_corner && p[i + j] <= cuts[j][cell[j]];
      covered = dominates_corner;
    }
    if (covered) {
      double v = 1;
      for (size_t j = 0; j < m; ++j) v *= cuts[j][cell[j] + 1] - cuts[j][cell[j]];
      volume += v;
    }
    size_t j = 0;
    while (j < m && ++cell[j] + 1 == cuts[j].size()) cell[j++] = 0;
    if (j == m) break;
  }
  return volume;
}

}  // namespace autocompress
