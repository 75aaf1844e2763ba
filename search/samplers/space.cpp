#include "search/samplers/space.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace autocompress {

namespace {

void check_size(const SearchSpace& s, size_t n, const char* what) {
  if (n != s.size())
    throw UsageError(std::string(what) + " has " + std::to_string(n) + " values, the space has " +
                     std::to_string(s.size()) + " knobs");
}

}  // namespace

std::vector<double> encode(const SearchSpace& s, const Candidate& c) {
  check_size(s, c.size(), "candidate");
  std::vector<double> x(c.size());
  for (size_t j = 0; j < c.size(); ++j) {
    const size_t levels = s.knobs[j].levels.size();
    x[j] = levels > 1 ? static_cast<double>(c[j]) / static_cast<double>(levels - 1) : 0.0;
  }
  return x;
}

// Rounds to the nearest level and clamps into [0, L-1]; frozen knobs decode to their level.
Candidate decode(const SearchSpace& s, const std::vector<double>& x) {
  check_size(s, x.size(), "encoded point");
  Candidate c(x.size());
  for (size_t j = 0; j < x.size(); ++j) {
    const Knob& k = s.knobs[j];
    const double top = k.levels.empty() ? 0.0 : static_cast<double>(k.levels.size() - 1);
    const double v = std::isnan(x[j]) ? 0.0 : std::clamp(x[j], 0.0, 1.0) * top;
    c[j] = k.fixed >= 0 ? k.fixed : static_cast<int>(std::lround(v));
  }
  return c;
}

void check_candidate(const SearchSpace& s, const Candidate& c) {
  check_size(s, c.size(), "candidate");
  for (size_t j = 0; j < c.size(); ++j) {
    const Knob& k = s.knobs[j];
    if (c[j] < 0 || static_cast<size_t>(c[j]) >= k.levels.size())
      throw UsageError("knob '" + k.name + "': level " + std::to_string(c[j]) + " outside [0, " +
                       std::to_string(static_cast<int>(k.levels.size()) - 1) + "]");
    if (k.fixed >= 0 && c[j] != k.fixed)
      throw UsageError("knob '" + k.name + "' is frozen at level " + std::to_string(k.fixed) +
                       ", got " + std::to_string(c[j]));
  }
}

}  // namespace autocompress
