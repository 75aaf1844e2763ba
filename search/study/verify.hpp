// Test-split verification of a study's trials (`pareto --verify`): each trial rebuilt from its
// recorded recipe and configuration, evaluated on the test split paired against the original, and
// timed on this host in interleaved runs; intervals for both (docs/search.md, "Test-split
// verification").
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "search/study/problem.hpp"
#include "storage/types.hpp"

namespace autocompress {

inline constexpr double kZ95 = 1.959963984540054;  // two-sided 95% normal quantile

// The sample median with a distribution-free interval from order statistics (Conover, "Practical
// Nonparametric Statistics", 3rd ed., section 3.2): the narrowest symmetric [x_(k), x_(n+1-k)]
// (1-based, sorted) whose coverage 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2), is >= `level`; when
// even [min, max] falls short (n < 6 for 95%) it is [min, max] with the coverage it has. Throws
// UsageError for an empty sample.
struct MedianInterval {
  double median = 0, lo = 0, hi = 0;
  double coverage = 0;  // exact coverage of [lo, hi] for the population median
};
MedianInterval median_interval(std::vector<double> x, double level = 0.95);

// The test data: the study's validation data (validation_spec of its recorded config) with the
// test split where that is an IDX directory, preprocessed as the study did; each field overrides.
struct VerifyOptions {
  std::string test_data;    // any source open_dataset reads; "" = the study's data (IDX directory)
  std::string test_labels;  // labels of an images file or flat folder (with test_data)
  std::optional<Split> test_split;  // IDX directories; unset = test
  int64_t test_limit = 0;           // first N test images (0 = all)
  // Applied to the study's preprocessing (e.g. the CLI's preprocessing flags); empty = as is.
  std::function<void(Preprocessing&)> preprocess;
  std::string model;  // "" = the model path the study recorded
  int repeats = 30;   // timed whole-model runs per candidate, after one warm-up
  int threads = 0;    // oneDNN threads, accuracy and latency (0 = all cores)
};

// The test data of `o` for the study's config `c` (mean / std left empty: `model_norm`).
// ConfigError naming data when it is not given and the study's data is not an IDX directory.
DataSpec test_spec(const ProblemConfig& c, const VerifyOptions& o, const Normalization& model_norm);

// What to verify: a trial and why it is in the table.
struct VerifyItem {
  int64_t number = -1;   // -1: the original model
  bool front = false;    // on the study's front
  std::string baseline;  // the uniform policy it is (search/report/front.hpp uniform_policy), or ""
  nlohmann::json recipe;
};

struct VerifiedTrial {
  VerifyItem item;
  PairedDrop test;               // on the test images, against the original (drop in points)
  double accuracy_se = 0;        // binomial SE of test.accuracy (fraction)
  std::vector<uint8_t> correct;  // per test image
  double size_mb = std::numeric_limits<double>::quiet_NaN();  // packed, from the recipe
  MedianInterval latency_ms;                                  // measured on this host
  int64_t batch = 1;
  int threads = 0;
};
// The record `pareto --verify` keeps per trial (and prints with --format json).
nlohmann::json verified_json(const VerifiedTrial& v);

// The study's problem rebuilt from its "config" attr (UsageError naming the study when absent),
// the test split loaded (DataError / IoError naming the files when missing) and the original
// evaluated on it; then verify() per list of items. Not thread-safe.
class Verifier {
 public:
  Verifier(const Study& s, const VerifyOptions& o);
  ~Verifier();
  // The original model first (number -1), then `items` in order.
  std::vector<VerifiedTrial> verify(const std::vector<VerifyItem>& items) const;
  const CompressionProblem& problem() const { return *problem_; }
  int64_t test_size() const;
  std::string test_source() const;
  const std::string& test_kind() const;  // what open_dataset detected the test data as

 private:
  std::vector<int64_t> predictions(const Graph& g) const;  // top-1 per test image
  std::vector<uint8_t> correct_on_test(const Graph& g) const;

  VerifyOptions opt_;
  std::unique_ptr<CompressionProblem> problem_;
  struct Test;
  std::unique_ptr<Test> test_;
};

// The goal against uniform policies, on test-verified accuracy. The best uniform
// baseline is the verified baseline with the highest test accuracy (ties: smaller size). A front
// point qualifies when its test accuracy is at least the baseline's:
//   strict: diff >= 0; within CI: diff + 1.96 se >= 0,
// with diff = front - baseline accuracy in points and se the paired SE of that difference on the
// same test images. Among qualifying front points: the largest size ratio baseline / front and
// the largest measured-latency ratio (medians) baseline / front.
struct UniformComparison {
  struct Pick {
    int64_t number = -1;  // -1: no front point qualifies
    double ratio = std::numeric_limits<double>::quiet_NaN();
    double diff = 0, se = 0;  // test accuracy front - baseline, points, paired
  };
  int64_t baseline = -1;  // -1: no baseline was verified
  std::string baseline_name;
  double baseline_accuracy = 0;
  Pick smaller_strict, smaller_ci, faster_strict, faster_ci;
};
UniformComparison compare_with_uniform(std::span<const VerifiedTrial> rows);
nlohmann::json comparison_json(const UniformComparison& c);

}  // namespace autocompress
