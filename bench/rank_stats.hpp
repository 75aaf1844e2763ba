// Rank and error statistics of predicted vs measured latencies, shared by the prediction studies
// (bench/hw_prediction_study.cpp, bench/search_latency_study.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

inline std::vector<double> ranks_of(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {  // ties share their mean rank
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = 0.5 * double(i + j);
    i = j + 1;
  }
  return r;
}

// Spearman's rho: Pearson correlation of the ranks.
inline double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const auto rx = ranks_of(x), ry = ranks_of(y);
  const double n = double(x.size());
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n;
  const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < rx.size(); ++i)
    sxy += (rx[i] - mx) * (ry[i] - my), sxx += (rx[i] - mx) * (rx[i] - mx),
        syy += (ry[i] - my) * (ry[i] - my);
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0;
}

inline double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))];
}

inline double share_within(const std::vector<double>& pred, const std::vector<double>& meas,
                           double tol) {
  int n = 0;
  for (size_t i = 0; i < pred.size(); ++i) n += std::abs(pred[i] - meas[i]) <= tol * meas[i];
  return pred.empty() ? 0 : double(n) / double(pred.size());
}
