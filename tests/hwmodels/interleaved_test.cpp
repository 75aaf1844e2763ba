// The interleaved-reference protocol (hwmodels/interleaved.hpp) on a synthetic host: a simulated
// clock on which every run takes its model's quiet time times the machine's load at that moment,
// so a slowdown window, a noisy machine and their effect on each estimate are known exactly.
#include "hwmodels/interleaved.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "common/error.hpp"

namespace autocompress {
namespace {

// A machine whose load (a factor >= 1 on every run's time) is a function of simulated time.
struct SyntheticHost {
  std::function<double(double)> load = [](double) { return 1.0; };
  double now = 0;  // simulated seconds
  int runs = 0;
  TimedRun model(double quiet_s) {
    return [this, quiet_s] {
      const double s = quiet_s * load(now);
      now += s;
      ++runs;
      return s;
    };
  }
};

constexpr double kCandidate = 2e-3, kReference = 4e-3;  // true ratio 0.5

TEST(IntervalStatistics, QuantileSpreadAndMedianCI) {
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2}, 0.5), 2);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4, 5}, 0.25), 2);
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
  const std::vector<double> steady(9, 1.0);
  EXPECT_EQ(relative_spread(steady), 0);
  const std::vector<double> spread{1, 2, 3, 4, 5};  // (4 - 2) / 3
  EXPECT_DOUBLE_EQ(relative_spread(spread), 2.0 / 3.0);
  std::vector<double> v;
  for (int i = 15; i >= 1; --i) v.push_back(i);
  // n = 15: ranks floor(7.5 - 3.80) = 3 and ceil(8.5 + 3.80) = 13
  const MedianCI ci = median_ci(v);
  EXPECT_EQ(ci.median, 8);
  EXPECT_EQ(ci.low, 3);
  EXPECT_EQ(ci.high, 13);
  const MedianCI one = median_ci({5.0});
  EXPECT_EQ(one.low, 5);
  EXPECT_EQ(one.high, 5);
}

TEST(QuietLatency, IsTheLeastMedianOfItsRounds) {
  SyntheticHost host;
  host.load = [](double t) { return t < 0.1 ? 3.0 : 1.0; };  // loaded for the first 0.1 s
  const double quiet = quiet_latency(host.model(kReference), 5, 11);
  EXPECT_DOUBLE_EQ(quiet, kReference);
  EXPECT_EQ(host.runs, 55);
  EXPECT_THROW(quiet_latency(host.model(kReference), 0, 11), UsageError);
}

// The machine is loaded 2.5x for the whole measurement: timed alone, the candidate reads 2.5x
// its latency; against the reference, its own.
TEST(Interleaved, RemovesASlowdownOverTheWholeMeasurement) {
  SyntheticHost host;
  const double quiet = quiet_latency(host.model(kReference), 3, 5);
  host.load = [](double) { return 2.5; };
  std::vector<double> alone;
  auto candidate = host.model(kCandidate);
  for (int i = 0; i < 15; ++i) alone.push_back(candidate());
  EXPECT_DOUBLE_EQ(quantile(alone, 0.5), 2.5 * kCandidate);  // the naive estimate
  const InterleavedLatency m = measure_interleaved(candidate, host.model(kReference), quiet);
  EXPECT_TRUE(m.settled) << m.reason;
  EXPECT_EQ(m.tries, 1);
  EXPECT_EQ(m.runs, 15);
  EXPECT_NEAR(m.seconds, kCandidate, 1e-12);
  EXPECT_NEAR(m.ratio, 0.5, 1e-12);
  EXPECT_NEAR(m.reference_median_s, 2.5 * kReference, 1e-12);
  EXPECT_LE(m.low_s, m.seconds);
  EXPECT_GE(m.high_s, m.seconds);
  EXPECT_TRUE(m.reason.empty());
}

// A 3x slowdown window that covers half of the first try: the reference's runs spread, the try
// is noisy and measured again after the window; the kept estimate is exact.
TEST(Interleaved, MeasuresANoisyWindowAgain) {
  SyntheticHost host;
  const double quiet = kReference;
  // First try: 1 warm-up pair (6 ms) + 15 pairs; the window starts after 7 pairs
  const double start = 8 * (kCandidate + kReference), end = start + 0.1;
  host.load = [&](double t) { return t >= start && t < end ? 3.0 : 1.0; };
  const InterleavedLatency m =
      measure_interleaved(host.model(kCandidate), host.model(kReference), quiet);
  EXPECT_TRUE(m.settled) << m.reason;
  EXPECT_GE(m.tries, 2);
  EXPECT_NEAR(m.seconds, kCandidate, 1e-12);
  EXPECT_LE(m.spread, 0.15);
}

// A machine whose load changes from run to run, whatever the try: the result is the least noisy
// try's estimate, flagged with the reason, never a silent number.
TEST(Interleaved, NeverSettlingIsFlaggedWithTheBestEstimate) {
  SyntheticHost host;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(1.0, 4.0);
  host.load = [&](double) { return u(rng); };
  InterleaveOptions o;
  o.max_tries = 3;
  o.max_seconds = 100;  // the tries, not the time budget, are under test
  const InterleavedLatency m =
      measure_interleaved(host.model(kCandidate), host.model(kReference), kReference, o);
  EXPECT_FALSE(m.settled);
  EXPECT_EQ(m.tries, 3);
  EXPECT_GT(m.spread, o.max_spread);
  EXPECT_NE(m.reason.find("machine too noisy"), std::string::npos) << m.reason;
  EXPECT_NE(m.reason.find("3 tries"), std::string::npos) << m.reason;
  EXPECT_TRUE(std::isfinite(m.seconds));
  EXPECT_GT(m.seconds, 0);
  EXPECT_LE(m.low_s, m.seconds);
  EXPECT_GE(m.high_s, m.seconds);
  EXPECT_EQ(host.runs, 3 * 2 * (15 + 1));  // bounded: max_tries tries, nothing more
}

// Runs that take long (a scheduler slice each on a loaded machine) spend the time budget: no more
// tries after it, flagged as such.
TEST(Interleaved, StopsTryingOnceTheTimeBudgetIsSpent) {
  SyntheticHost host;
  int run = 0;
  host.load = [&](double) { return ++run % 3 ? 1.0 : 50.0; };  // every third run preempted
  InterleaveOptions o;
  o.max_seconds = 0.5;  // the first try takes 16 * 6 ms + 10 preempted runs of 100-200 ms
  const InterleavedLatency m =
      measure_interleaved(host.model(kCandidate), host.model(kReference), kReference, o);
  EXPECT_FALSE(m.settled);
  EXPECT_EQ(m.tries, 1);
  EXPECT_NE(m.reason.find("time budget"), std::string::npos) << m.reason;
}

TEST(Interleaved, RejectsOptionsThatMeasureNothing) {
  SyntheticHost host;
  InterleaveOptions o;
  o.runs = 0;
  EXPECT_THROW(measure_interleaved(host.model(1), host.model(1), 1, o), UsageError);
  EXPECT_THROW(measure_interleaved(host.model(1), host.model(1), 0, {}), UsageError);
  o = {};
  o.max_tries = 0;
  EXPECT_THROW(measure_interleaved(host.model(1), host.model(1), 1, o), UsageError);
}

}  // namespace
}  // namespace autocompress
