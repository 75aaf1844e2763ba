#include "search/moo/hypervolume_history.hpp"

#include <algorithm>
#include <cmath>

#include "search/moo/hypervolume.hpp"

namespace autocompress {

std::vector<double> hypervolume_history(std::span<const double> points, size_t m,
                                        std::span<const Sense> sense,
                                        std::span<const uint8_t> feasible,
                                        std::span<const double> reference) {
  const size_t n = m ? points.size() / m : 0;
  std::vector<double> out(n, 0.0), front;
  double hv = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto p = points.subspan(i * m, m);
    const bool usable = (feasible.empty() || feasible[i]) &&
                        std::none_of(p.begin(), p.end(), [](double v) { return std::isnan(v); });
    bool dominated = false;
    for (size_t k = 0; usable && !dominated && k < front.size(); k += m) {
      const std::span<const double> q(front.data() + k, m);
      dominated = dominates(q, p, sense) || std::equal(q.begin(), q.end(), p.begin());
    }
    if (usable && !dominated) {
      std::vector<double> kept;
      for (size_t k = 0; k < front.size(); k += m) {
        const std::span<const double> q(front.data() + k, m);
        if (!dominates(p, q, sense)) kept.insert(kept.end(), q.begin(), q.end());
      }
      kept.insert(kept.end(), p.begin(), p.end());
      front = std::move(kept);
      hv = hypervolume(front, m, reference, sense);
    }
    out[i] = hv;
  }
  return out;
}

std::vector<double> hypervolume_history_naive(std::span<const double> points, size_t m,
                                              std::span<const Sense> sense,
                                              std::span<const uint8_t> feasible,
                                              std::span<const double> reference) {
  const size_t n = m ? points.size() / m : 0;
  std::vector<double> out(n), prefix;
  for (size_t i = 0; i < n; ++i) {
    if (feasible.empty() || feasible[i])
      prefix.insert(prefix.end(), points.begin() + long(i * m), points.begin() + long(i * m + m));
    out[i] = hypervolume(prefix, m, reference, sense);
  }
  return out;
}

}  // namespace autocompress
