// The protocol that times a candidate model on a shared machine: the candidate's runs alternate
// with runs of a reference (the original model), and the candidate's latency is the median of
// its run-to-reference ratios times the reference's latency measured on a quiet machine. A load
// that slows both alike (another process, a busy core) cancels out of the ratio; a window whose
// reference runs spread too much is measured again, a bounded number of times, and a result that
// never settled says so. Pure functions over timing sources: tests drive them with a synthetic
// clock (docs/search.md, "Measured latency").
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace autocompress {

// One timed run: executes the model once and returns its seconds.
using TimedRun = std::function<double()>;

// Quantile q in [0, 1] of v by linear interpolation between order statistics; NaN for empty v.
double quantile(std::vector<double> v, double q);
// The interquartile range over the median, (q3 - q1) / median: 0 for a steady source.
double relative_spread(std::span<const double> v);

// The median of v and its distribution-free confidence interval: the order statistics of ranks
// n/2 -+ z sqrt(n)/2 (the binomial(n, 1/2) normal approximation, clamped to the sample), so the
// interval needs no assumption on the run-time distribution (which has a long right tail).
struct MedianCI {
  double median = 0, low = 0, high = 0;
};
MedianCI median_ci(std::vector<double> v, double z = 1.96);

// The reference's quiet latency: the smallest of `rounds` medians of `runs` runs each (a median
// taken in a loaded moment is larger, never smaller). UsageError for rounds or runs < 1.
double quiet_latency(const TimedRun& reference, int rounds, int runs);

struct InterleaveOptions {
  int runs = 15;             // timed candidate runs per try, each followed by one reference run
  int warmup = 1;            // untimed runs of each before a try (caches, page faults)
  int max_tries = 3;         // measurements of a noisy window before giving up
  double max_spread = 0.15;  // relative_spread of the reference's runs above this: noisy
  double max_seconds = 1.0;  // no new try once the runs so far took this long (a loaded machine
                             // makes each run take a scheduler slice: bound what it costs)
};

struct InterleavedLatency {
  double seconds = 0;            // median ratio x reference_quiet_s
  double low_s = 0, high_s = 0;  // its 95 % confidence interval (of the median ratio)
  double ratio = 0;              // median of candidate / reference, run by run
  double reference_quiet_s = 0;
  double reference_median_s = 0;  // the reference's median during the try kept
  double spread = 0;              // the reference's relative spread in the try kept
  int runs = 0;                   // candidate runs of the try kept
  int tries = 0;                  // tries made
  bool settled = false;  // false: every try was noisy; the try with the smallest spread is kept
  std::string reason;    // why not settled ("" when settled)
};

// Times `candidate` against `reference` as described above: per try, `warmup` untimed runs of
// each, then `runs` pairs (candidate, reference). The first try whose reference spread is at most
// UsageError for runs < 1,
// max_tries < 1, warmup < 0 or reference_quiet_s <= 0.
InterleavedLatency measure_interleaved(const TimedRun& candidate, const TimedRun& reference,
                                       double reference_quiet_s, const InterleaveOptions& o = {});

}  // namespace autocompress
