#include "hwmodels/interleaved.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/error.hpp"

namespace autocompress {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const double at = std::clamp(q, 0.0, 1.0) * double(v.size() - 1);
  const size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (at - double(lo)) * (v[hi] - v[lo]);
}

double relative_spread(std::span<const double> v) {
  const std::vector<double> s(v.begin(), v.end());
  const double m = quantile(s, 0.5);
  return m > 0 ? (quantile(s, 0.75) - quantile(s, 0.25)) / m : 0;
}

MedianCI median_ci(std::vector<double> v, double z) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const double n = double(v.size()), half = z * std::sqrt(n) / 2;
  // 1-based ranks j = floor(n/2 - half), k = ceil(1 + n/2 + half), clamped to [1, n]
  const double j = std::clamp(std::floor(n / 2 - half), 1.0, n);
  const double k = std::clamp(std::ceil(1 + n / 2 + half), 1.0, n);
  return {quantile(v, 0.5), v[size_t(j) - 1], v[size_t(k) - 1]};
}

double quiet_latency(const TimedRun& reference, int rounds, int runs) {
  if (rounds < 1 || runs < 1)
    throw UsageError("quiet_latency: rounds and runs must be >= 1, got rounds " +
                     std::to_string(rounds) + ", runs " + std::to_string(runs));
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < rounds; ++r) {
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) t.push_back(reference());
    best = std::min(best, quantile(std::move(t), 0.5));
  }
  return best;
}

namespace {

// One try: warm-up, then `runs` (candidate, reference) pairs.
// `spent` adds the seconds of every run.
InterleavedLatency one_try(const TimedRun& candidate, const TimedRun& reference, double quiet_s,
                           const InterleaveOptions& o, double& spent) {
  for (int i = 0; i < o.warmup; ++i) spent += candidate() + reference();
  std::vector<double> ratio, ref;
  for (int i = 0; i < o.runs; ++i) {
    const double c = candidate(), r = reference();
    spent += c + r;
    ratio.push_back(r > 0 ? c / r : std::numeric_limits<double>::infinity());
    ref.push_back(r);
  }
  const MedianCI ci = median_ci(ratio);
  InterleavedLatency m;
  m.ratio = ci.median;
  m.seconds = ci.median * quiet_s;
  m.low_s = ci.low * quiet_s;
  m.high_s = ci.high * quiet_s;
  m.reference_quiet_s = quiet_s;
  m.reference_median_s = quantile(ref, 0.5);
  m.spread = relative_spread(ref);
  m.runs = o.runs;
  return m;
}

}  // namespace

InterleavedLatency measure_interleaved(const TimedRun& candidate, const TimedRun& reference,
                                       double reference_quiet_s, const InterleaveOptions& o) {
  if (o.runs < 1 || o.max_tries < 1 || o.warmup < 0 || !(reference_quiet_s > 0))
    throw UsageError(
        "measure_interleaved: runs and max_tries must be >= 1, warmup >= 0 and the "
        "reference's quiet latency > 0, got runs " +
        std::to_string(o.runs) + ", max_tries " + std::to_string(o.max_tries) + ", warmup " +
        std::to_string(o.warmup) + ", reference " + std::to_string(reference_quiet_s) + " s");
  InterleavedLatency best;
  double spent = 0;
  int t = 1;
  for (; t <= o.max_tries; ++t) {
    InterleavedLatency m = one_try(candidate, reference, reference_quiet_s, o, spent);
    m.tries = t;
    m.settled = m.spread <= o.max_spread;
    if (m.settled) return m;
    if (t == 1 || m.spread < best.spread) best = m;
    best.tries = t;
    if (spent >= o.max_seconds) break;
  }
  char why[200];
  std::snprintf(why, sizeof why,
                "machine too noisy: the reference's runs spread more than %.0f %% in each of %d "
                "tries%s (kept the least noisy, %.0f %%)",
                100 * o.max_spread, best.tries,
                t <= o.max_tries ? ", then the time budget was spent" : "", 100 * best.spread);
  best.reason = why;
  return best;
}

}  // namespace autocompress
