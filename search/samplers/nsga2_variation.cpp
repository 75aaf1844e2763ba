#include "search/samplers/nsga2_variation.hpp"

#include <algorithm>
#include <cmath>

namespace autocompress {

namespace {

bool movable(const Knob& k) { return k.fixed < 0 && k.levels.size() > 1; }

double top(const Knob& k) { return static_cast<double>(k.levels.size() - 1); }

int to_level(const Knob& k, double x) {
  return static_cast<int>(std::lround(std::clamp(x, 0.0, 1.0) * top(k)));
}

// Spread factor of bounded SBX for the side whose distance to its bound is `room`.
double sbx_beta_q(double u, double eta, double room, double gap) {
  const double beta = 1.0 + 2.0 * room / gap;
  const double alpha = 2.0 - std::pow(beta, -(eta + 1.0));
  return u <= 1.0 / alpha ? std::pow(u * alpha, 1.0 / (eta + 1.0))
                          : std::pow(1.0 / (2.0 - u * alpha), 1.0 / (eta + 1.0));
}

}  // namespace

Crossover sbx_crossover(double eta) {
  return [eta](const SearchSpace& s, const Candidate& a, const Candidate& b, Rng& rng) {
    Candidate child = a;
    for (size_t j = 0; j < s.size(); ++j) {
      const Knob& k = s.knobs[j];
      if (!movable(k) || a[j] == b[j] || !rng.chance(0.5)) {
        if (movable(k) && rng.chance(0.5)) child[j] = b[j];
        continue;
      }
      const double lo = std::min(a[j], b[j]) / top(k), hi = std::max(a[j], b[j]) / top(k);
      const double gap = hi - lo, u = rng.uniform();
      const double c1 = 0.5 * (lo + hi - sbx_beta_q(u, eta, lo, gap) * gap);
      const double c2 = 0.5 * (lo + hi + sbx_beta_q(u, eta, 1.0 - hi, gap) * gap);
      child[j] = to_level(k, rng.chance(0.5) ? c1 : c2);
    }
    return child;
  };
}

Crossover uniform_crossover(double swap_prob) {
  return [swap_prob](const SearchSpace& s, const Candidate& a, const Candidate& b, Rng& rng) {
    Candidate child = a;
    for (size_t j = 0; j < s.size(); ++j)
      if (movable(s.knobs[j]) && rng.chance(swap_prob)) child[j] = b[j];
    return child;
  };
}

Mutation polynomial_mutation(double prob, double eta) {
  return [prob, eta](const SearchSpace& s, Candidate& c, Rng& rng) {
    double p = prob;
    if (p < 0) {
      const auto n = std::count_if(s.knobs.begin(), s.knobs.end(), movable);
      p = n ? 1.0 / static_cast<double>(n) : 0.0;
    }
    for (size_t j = 0; j < s.size(); ++j) {
      const Knob& k = s.knobs[j];
      if (!movable(k) || !rng.chance(p)) continue;
      const double x = c[j] / top(k), u = rng.uniform(), power = 1.0 / (eta + 1.0);
      const double delta =
          u < 0.5 ? std::pow(2 * u + (1 - 2 * u) * std::pow(1 - x, eta + 1), power) - 1
                  : 1 - std::pow(2 * (1 - u) + 2 * (u - 0.5) * std::pow(x, eta + 1), power);
      int level = to_level(k, x + delta);
      if (level == c[j]) level += (delta < 0 ? -1 : 1);
      if (level < 0 || level > static_cast<int>(top(k))) level = c[j] + (level < 0 ? 1 : -1);
      c[j] = level;
    }
  };
}

}  // namespace autocompress
