// Exact hypervolume for m >= 4: WFG (While, Bradstreet, Barone 2012, "A fast way of calculating
// exact hypervolumes", IEEE TEVC 16(1)). The volume is the sum of exclusive contributions taken in
// order: excl(p_k) = vol(box(p_k)) - hv(nds(limit(p_k, p_{k+1..n}))), where limit clips the later
// points to the part that overlaps p_k's box. Sorting by the last objective keeps the limit sets
// small. Recursion bottoms out in the O(n log n) 3-D sweep.
#include <algorithm>
#include <numeric>

#include "search/moo/hypervolume.hpp"

namespace autocompress {

namespace {

double box(std::span<const double> p, std::span<const double> ref) {
  double v = 1;
  for (size_t j = 0; j < p.size(); ++j) v *= ref[j] - p[j];
  return v;
}

// The non-dominated rows of p (minimization). Equal rows are all kept; the copies' exclusive
// volumes are zero.
std::vector<double> nondominated_rows(const std::vector<double>& p, size_t m) {
  const std::vector<Sense> sense(m, Sense::kMinimize);
  std::vector<double> out;
  for (size_t i : pareto_front(p, m, sense))
    out.insert(out.end(), p.begin() + i * m, p.begin() + (i + 1) * m);
  return out;
}

double wfg(std::vector<double> p, size_t m, std::span<const double> ref);

// Exclusive volume of row k: its box minus the volume the later rows take from it.
double exclusive(const std::vector<double>& p, size_t m, size_t k, std::span<const double> ref) {
  const size_t n = p.size() / m;
  std::vector<double> limited;
  limited.reserve((n - k - 1) * m);
  for (size_t i = k + 1; i < n; ++i)
    for (size_t j = 0; j < m; ++j) limited.push_back(std::max(p[k * m + j], p[i * m + j]));
  const std::span<const double> pk(p.data() + k * m, m);
  return box(pk, ref) - wfg(nondominated_rows(limited, m), m, ref);
}

double wfg(std::vector<double> p, size_t m, std::span<const double> ref) {
  const size_t n = p.size() / m;
  if (n == 0) return 0;
  if (n == 1) return box(p, ref);
  if (m == 3) return hypervolume_3d_min(p, ref);
  // Sort rows by the last objective, descending (WFG's order: later rows are clipped most).
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return p[a * m + m - 1] > p[b * m + m - 1]; });
  std::vector<double> sorted;
  sorted.reserve(p.size());
  for (size_t i : order) sorted.insert(sorted.end(), p.begin() + i * m, p.begin() + (i + 1) * m);
  double volume = 0;
  for (size_t k = 0; k < n; ++k) volume += exclusive(sorted, m, k, ref);
  return volume;
}

}  // namespace

double hypervolume_wfg_min(std::span<const double> points, size_t m,
                           std::span<const double> reference) {
  if (m == 2) return hypervolume_2d_min(points, reference);
  return wfg(nondominated_rows(inside_reference(points, m, reference), m), m, reference);
}

}  // namespace autocompress
