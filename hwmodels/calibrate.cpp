#include "hwmodels/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "common/error.hpp"
#include "hwmodels/roofline.hpp"

namespace autocompress {

std::vector<LatencySample> parse_latency_csv(const std::string& text, const std::string& file) {
  std::vector<LatencySample> out;
  std::istringstream in(text);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    if (line.rfind("signature", 0) == 0) continue;  // header
    const std::string where = file + ":" + std::to_string(line_no);
    const auto comma = line.rfind(',');
    if (comma == std::string::npos)
      throw DataError(where, "expected 'signature,latency_seconds', got '" + line + "'");
    double seconds = 0;
    try {
      size_t used = 0;
      seconds = std::stod(line.substr(comma + 1), &used);
    } catch (const std::exception&) {
      throw DataError(where, "latency: expected seconds, got '" + line.substr(comma + 1) + "'");
    }
    if (!(seconds >= 0))
      throw DataError(where, "latency: must be >= 0, got " + line.substr(comma + 1));
    out.push_back({parse_signature(line.substr(0, comma), where).layer, seconds});
  }
  return out;
}

std::vector<LatencySample> samples_from_cache(const std::vector<CachedMeasurement>& entries,
                                              const HostInfo& host, int threads) {
  std::vector<LatencySample> out;
  for (const auto& e : entries) {
    SignedLayer s;
    try {
      s = parse_signature(e.signature);
    } catch (const DataError&) {
      continue;
    }
    if (s.threads == threads && s.host.cpu == host.cpu && s.host.onednn == host.onednn)
      out.push_back({s.layer, e.seconds});
  }
  return out;
}

Eigen::VectorXd nnls_small(const Eigen::MatrixXd& A, const Eigen::VectorXd& b) {
  const int n = int(A.cols());
  if (n > 16 || A.rows() != b.size())
    throw UsageError("nnls_small: needs <= 16 columns and rows == b.size(), got " +
                     std::to_string(A.rows()) + "x" + std::to_string(n) + " and " +
                     std::to_string(b.size()));
  Eigen::VectorXd best = Eigen::VectorXd::Zero(n);
  double best_r = b.squaredNorm();
  for (unsigned mask = 1; mask < (1u << n); ++mask) {
    std::vector<int> cols;
    for (int j = 0; j < n; ++j)
      if (mask & (1u << j)) cols.push_back(j);
    Eigen::MatrixXd sub(A.rows(), Eigen::Index(cols.size()));
    for (size_t j = 0; j < cols.size(); ++j) sub.col(Eigen::Index(j)) = A.col(cols[j]);
    const Eigen::VectorXd y = sub.completeOrthogonalDecomposition().solve(b);
    if ((y.array() < 0).any()) continue;
    Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
    for (size_t j = 0; j < cols.size(); ++j) x[cols[j]] = y[Eigen::Index(j)];
    const double r = (A * x - b).squaredNorm();
    // Ties (exact fits) go to the first support found, the smallest mask: deterministic.
    if (r < best_r * (1 - 1e-12)) best_r = r, best = x;
  }
  return best;
}

namespace {

// Roofline time at efficiency 1 without overhead: what the efficiency factor divides.
double raw_time(const LayerDesc& d, const Profile& p) {
  const LayerCost c = roofline(d, p);
  return std::max(c.compute_s, c.memory_s);
}

}  // namespace

CalibrationFit calibrate(const Profile& p, const std::vector<LatencySample>& samples) {
  if (samples.empty()) throw UsageError("calibrate: no latency samples");
  CalibrationFit fit{p, {}, 0};
  for (const auto& s : samples) {
    if (!(s.seconds > 0))
      throw UsageError("calibrate: latency must be positive, got " + std::to_string(s.seconds));
    ++fit.samples[int(s.layer.kind)];
  }
  std::vector<int> kinds;  // columns: the kinds present, then the overhead
  std::array<int, kNumKinds> column{};
  for (int k = 0; k < kNumKinds; ++k)
    if (fit.samples[k]) column[k] = int(kinds.size()), kinds.push_back(k);
  // Rows weighted by 1 / t: relative errors count alike for 10 us and 10 ms layers.
  const auto m = Eigen::Index(samples.size());
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(m, Eigen::Index(kinds.size() + 1));
  Eigen::VectorXd b = Eigen::VectorXd::Ones(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    const auto& s = samples[size_t(i)];
    A(i, column[int(s.layer.kind)]) = raw_time(s.layer, p) / s.seconds;
    A(i, Eigen::Index(kinds.size())) = 1 / s.seconds;
  }
  const Eigen::VectorXd x = nnls_small(A, b);
  for (size_t j = 0; j < kinds.size(); ++j)
    if (x[Eigen::Index(j)] > 0) fit.profile.efficiency[kinds[j]] = 1 / x[Eigen::Index(j)];
  fit.profile.overhead_s = x[Eigen::Index(kinds.size())];
  double sq = 0;
  for (const auto& s : samples) {
    const double rel = (roofline(s.layer, fit.profile).latency_s - s.seconds) / s.seconds;
    sq += rel * rel;
  }
  fit.rms_relative_error = std::sqrt(sq / double(samples.size()));
  return fit;
}

}  // namespace autocompress
