// Exact 3-D hypervolume in O(n log n): Beume, Fonseca, Lopez-Ibanez, Paquete, Vahrenhold (2009).
// Sweep the points by ascending z; the slab between two consecutive z values has the area of the
// 2-D staircase of the points seen so far, kept in a balanced tree (std::map x -> y, y decreasing
// with x) together with its area, which each insertion updates in O(log n) amortized.
#include <algorithm>
#include <map>
#include <numeric>

#include "search/moo/hypervolume.hpp"

namespace autocompress {

namespace {

class Staircase {
 public:
  Staircase(double rx, double ry) : rx_(rx), ry_(ry) {}
  double area() const { return area_; }

  // Adds (x, y) unless a point already there dominates it, removing the points it dominates.
  void insert(double x, double y) {
    auto it = steps_.lower_bound(x);
    if (it != steps_.end() && it->first == x && it->second <= y) return;
    double top = ry_;  // the staircase's height just left of x
    if (it != steps_.begin()) {
      top = std::prev(it)->second;
      if (top <= y) return;
    }
    double cur = x;
    while (it != steps_.end() && it->second >= y) {  // dominated by (x, y): x' >= x, y' >= y
      area_ += (it->first - cur) * (top - y);
      cur = it->first;
      top = it->second;
      it = steps_.erase(it);
    }
    area_ += ((it == steps_.end() ? rx_ : it->first) - cur) * (top - y);
    steps_.emplace_hint(it, x, y);
  }

 private:
  double rx_, ry_, area_ = 0;
  std::map<double, double> steps_;
};

}  // namespace

double hypervolume_3d_min(std::span<const double> points, std::span<const double> reference) {
  const auto p = inside_reference(points, 3, reference);
  const size_t n = p.size() / 3;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return p[3 * a + 2] < p[3 * b + 2]; });
  Staircase stairs(reference[0], reference[1]);
  double volume = 0;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order[k];
    stairs.insert(p[3 * i], p[3 * i + 1]);
    const double z_next = k + 1 < n ? p[3 * order[k + 1] + 2] : reference[2];
    volume += stairs.area() * (z_next - p[3 * i + 2]);
  }
  return volume;
}

}  // namespace autocompress
