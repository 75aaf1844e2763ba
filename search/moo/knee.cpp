#include "search/moo/knee.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "search/moo/hypervolume.hpp"  // to_minimization

namespace autocompress {

namespace {

// Solves a w = b (n x n, row-major) by Gaussian elimination with partial pivoting; false when the
// matrix is (numerically) singular.
bool solve(std::vector<double> a, std::vector<double>& b, size_t n) {
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r * n + c]) > std::fabs(a[p * n + c])) p = r;
    if (std::fabs(a[p * n + c]) < 1e-12) return false;
    for (size_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[p * n + k]);
    std::swap(b[c], b[p]);
    for (size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r * n + c] / a[c * n + c];
      for (size_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  for (size_t c = 0; c < n; ++c) b[c] /= a[c * n + c];
  return true;
}

// The front in minimization form, each objective scaled to [0, 1] by its range over the front.
std::vector<double> normalized(std::span<const double> points, size_t m,
                               std::span<const Sense> sense) {
  std::vector<double> f = to_minimization(points, m, sense);
  const size_t n = f.size() / m;
  for (size_t j = 0; j < m; ++j) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; ++i) lo = std::min(lo, f[i * m + j]), hi = std::max(hi, f[i * m + j]);
    for (size_t i = 0; i < n; ++i) f[i * m + j] = hi > lo ? (f[i * m + j] - lo) / (hi - lo) : 0;
  }
  return f;
}

}  // namespace

size_t knee_point(std::span<const double> points, size_t m, std::span<const Sense> sense) {
  if (m == 0 || points.size() < m) throw UsageError("knee_point: the front is empty");
  const size_t n = points.size() / m;
  const std::vector<double> f = normalized(points, m, sense);
  const auto sum = [&](size_t i) {
    double s = 0;
    for (size_t j = 0; j < m; ++j) s += f[i * m + j];
    return s;
  };
  // Extreme j: best in objective j, ties broken by the smaller sum of the others.
  std::vector<double> e(m * m);
  for (size_t j = 0; j < m; ++j) {
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
      if (f[i * m + j] < f[best * m + j] || (f[i * m + j] == f[best * m + j] && sum(i) < sum(best)))
        best = i;
    std::copy_n(f.begin() + long(best * m), m, e.begin() + long(j * m));
  }
  // The plane through the extremes: w . x = 1. It must face the ideal point (every w_j > 0).
  std::vector<double> w(m, 1.0);
  if (!solve(e, w, m) || std::any_of(w.begin(), w.end(), [](double x) { return !(x > 0); }))
    w.assign(m, 1.0);
  size_t knee = 0;
  double best = -INFINITY;
  for (size_t i = 0; i < n; ++i) {
    double d = 1;
    for (size_t j = 0; j < m; ++j) d -= w[j] * f[i * m + j];
    if (d > best + 1e-12) best = d, knee = i;  // the norm of w is common to all: left out
  }
  return knee;
}

}  // namespace autocompress
