#include "hwmodels/predict_host.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "hwmodels/calibrate.hpp"
#include "hwmodels/roofline.hpp"

namespace autocompress {

namespace {

// model_s ~ layer_scale * layers_s + reorder_s_per_byte * reorder_bytes + fixed_s, by NNLS with
// rows weighted by 1 / model_s (relative errors). Columns are scaled to unit maximum first: bytes
// and seconds differ by nine orders of magnitude. Without reorders in the samples that column is
// left out and reorders keep their roofline.
void fit_model_overhead(HostModel& m, const std::vector<ModelSample>& samples) {
  if (samples.empty()) return;
  const bool reorders = std::any_of(samples.begin(), samples.end(),
                                    [](const ModelSample& s) { return s.reorder_bytes > 0; });
  const auto n = Eigen::Index(samples.size());
  Eigen::MatrixXd A(n, 3);
  Eigen::VectorXd b = Eigen::VectorXd::Ones(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& s = samples[size_t(i)];
    A.row(i) << s.layers_s / s.seconds, reorders ? s.reorder_bytes / s.seconds : 0, 1 / s.seconds;
  }
  Eigen::VectorXd scale = A.cwiseAbs().colwise().maxCoeff().transpose();
  for (Eigen::Index j = 0; j < 3; ++j)
    if (scale[j] > 0)
      A.col(j) /= scale[j];
    else
      scale[j] = 1;
  const Eigen::VectorXd x = nnls_small(A, b).cwiseQuotient(scale);
  m.layer_scale = x[0];
  if (reorders) m.reorder_s_per_byte = x[1];
  m.fixed_s = x[2];
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

HostModel fit_host_model(const Profile& base, const std::vector<CachedMeasurement>& entries,
                         int threads, const HostInfo& host) {
  HostModel m;
  m.profile = base;
  m.threads = threads;
  m.host = host;
  const auto samples = samples_from_cache(entries, host, threads);
  m.layer_samples = int(samples.size());
  if (!samples.empty()) m.profile = calibrate(base, samples).profile;
  const std::string tail = '|' + host_fields(threads, host);
  std::vector<ModelSample> models;
  for (const auto& e : entries) {
    if (auto s = parse_model_signature(e.signature, e.seconds, threads, host)) {
      if (s->seconds > 0 && s->layers_s > 0) models.push_back(*s);
    } else if (ends_with(e.signature, tail) && e.seconds > 0) {
      m.layers.emplace(e.signature.substr(0, e.signature.size() - tail.size()), e.seconds);
    }
  }
  m.model_samples = int(models.size());
  fit_model_overhead(m, models);
  return m;
}

HostModel load_host_model(const Profile& base, const MeasureCache& cache, int threads,
                          const HostInfo& host) {
  return fit_host_model(base, cache.all(), measured_threads(threads), host);
}

HostPrediction predict_host(const std::vector<LayerDesc>& schedule, const HostModel& m) {
  HostPrediction out;
  out.layer_s.resize(schedule.size());
  out.measured.resize(schedule.size());
  double layers = 0, reorders = 0;
  for (size_t k = 0; k < schedule.size(); ++k) {
    const auto& d = schedule[k];
    if (d.kind == LayerKind::kReorder) {
      const double t = m.reorder_s_per_byte > 0 ? m.reorder_s_per_byte * reorder_bytes({d})
                                                : roofline(d, m.profile).latency_s;
      out.layer_s[k] = t;
      reorders += t;
      continue;
    }
    const auto hit = m.layers.find(layer_key(d));
    out.measured[k] = hit != m.layers.end();
    out.layer_s[k] = out.measured[k] ? hit->second : roofline(d, m.profile).latency_s;
    layers += out.layer_s[k];
  }
  out.total_s = m.layer_scale * layers + reorders + m.fixed_s;
  return out;
}

HostPrediction predict_host(const Graph& g, const std::vector<LayerDesc>& schedule, HostModel& m,
                            MeasureCache& cache, const HostPredictOptions& options) {
  const bool unseen = std::any_of(schedule.begin(), schedule.end(), [&](const LayerDesc& d) {
    return d.kind != LayerKind::kReorder && !m.layers.count(layer_key(d));
  });
  if (options.measure_unseen && unseen && !schedule.empty()) {
    const Measurement meas = measure(g, schedule, {schedule[0].batch, m.threads, options.repeats});
    record(cache, schedule, meas, m.threads, options.repeats);
    // Entries no step ran for cost nothing here; remembered (in memory) so they are not measured
    // again, but not stored: calibration needs positive latencies.
    for (size_t k = 0; k < schedule.size(); ++k)
      if (schedule[k].kind != LayerKind::kReorder)
        m.layers[layer_key(schedule[k])] = meas.layer_s[k];
  }
  return predict_host(schedule, m);
}

}  // namespace autocompress
