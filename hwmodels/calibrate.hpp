// Calibrating a profile against measured per-layer latencies (the host prediction that uses them
// is hwmodels/predict_host.hpp). The fit is linear in the unknowns: with r_i the layer's roofline
// time at efficiency 1 and no overhead (max(compute, memory)),
//   t_i = r_i * x[kind_i] + overhead,    x[k] = 1 / efficiency[k]
// solved by non-negative least squares over the kinds present in the data. Pure functions.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "hwmodels/layer_desc.hpp"
#include "hwmodels/measure.hpp"
#include "hwmodels/profile.hpp"

namespace autocompress {

struct LatencySample {
  LayerDesc layer;
  double seconds = 0;
};

// "signature,latency_seconds" lines (hwmodels/measure.hpp signatures); blank lines, '#' comments
// and a header line starting with "signature" are skipped. Throws DataError naming `file` and the
// line for a malformed line or a negative latency.
std::vector<LatencySample> parse_latency_csv(const std::string& text, const std::string& file);

// The cache's entries measured on `host` with `threads`, as samples (calibration on the host).
// Entries whose signature does not parse are skipped (an older format).
std::vector<LatencySample> samples_from_cache(const std::vector<CachedMeasurement>& entries,
                                              const HostInfo& host, int threads);

// min ||A x - b||^2 subject to x >= 0, exactly: the optimum is the unconstrained least-squares
// solution on its support, so every support is tried (A must have at most 16 columns; the
// calibration has at most kNumKinds + 1). Throws UsageError for more columns or mismatched sizes.
Eigen::VectorXd nnls_small(const Eigen::MatrixXd& A, const Eigen::VectorXd& b);

struct CalibrationFit {
  Profile profile;                       // the input profile with fitted efficiency and overhead_s
  std::array<int, kNumKinds> samples{};  // layers per kind the fit saw (kinds with 0 keep theirs)
  double rms_relative_error = 0;         // of the fitted prediction over the samples
};

// Fits p's efficiency per kind and overhead_s to the samples. A kind whose factor comes out 0 (its
// layers cost only the overhead) keeps its old efficiency; so does a kind without samples.
// Throws UsageError for no samples or a non-positive latency.
CalibrationFit calibrate(const Profile& p, const std::vector<LatencySample>& samples);

}  // namespace autocompress
