#include "hwmodels/predict_host.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "hwmodels/calibrate.hpp"
#include "hwmodels/roofline.hpp"

namespace autocompress {

namespace {

// model_s ~ layer_scale * layers_s + reorder_s_per_byte * reorder_bytes + fixed_s, by NNLS with
// rows weighted by 1 / model_s (relative errors). Columns are scaled to unit maximum first: bytes
// and seconds differ by nine orders of magnitude. Without reorders in the samples that column is
// left out and reorders keep their roofline.
// The fixed term needs models of different sizes (at least 3, spanning 1.5x in layer time);
// otherwise only the scales are fitted.
void fit_model_overhead(HostModel& m, const std::vector<ModelSample>& samples) {
  if (samples.empty()) return;
  const bool reorders = std::any_of(samples.begin(), samples.end(),
                                    [](const ModelSample& s) { return s.reorder_bytes > 0; });
  const auto [lo, hi] = std::minmax_element(
      samples.begin(), samples.end(),
      [](const ModelSample& a, const ModelSample& b) { return a.layers_s < b.layers_s; });
  const bool fixed = samples.size() >= 3 && hi->layers_s >= 1.5 * lo->layers_s;
  const auto n = Eigen::Index(samples.size());
  Eigen::MatrixXd A(n, 3);
  Eigen::VectorXd b = Eigen::VectorXd::Ones(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& s = samples[size_t(i)];
    A.row(i) << s.layers_s / s.seconds, reorders ? s.reorder_bytes / s.seconds : 0,
        fixed ? 1 / s.seconds : 0;
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

}  // namespace

std::string geometry_key(const LayerDesc& d) {
  LayerDesc g = d;
  g.c_in = g.c_out = 0;
  if (g.kind == LayerKind::kDepthwise) g.groups = 0;
  return layer_key(g);
}

namespace {

// A measured layer into the lookups; a layer that costs nothing (no step ran for it) is looked up
// but never scaled.
void add_layer(HostModel& m, const LayerDesc& layer, double seconds) {
  const LayerDesc d = as_run_here(layer);
  if (!m.layers.emplace(layer_key(d), seconds).second || !(seconds > 0)) return;
  const double roof = roofline(d, m.mode_profile[int(d.precision)]).latency_s;
  m.geometry[geometry_key(d)].push_back({d, seconds, roof});
}

void fit_layers(HostModel& m, const std::vector<LatencySample>& samples) {
  m.layer_samples = int(std::count_if(samples.begin(), samples.end(),
                                      [](const LatencySample& s) { return s.layer.llc < 0; }));
  if (samples.empty()) {
    m.mode_profile.fill(m.profile);
    return;
  }
  // The efficiencies are fitted on the context-free entries (each measurement once).
  std::vector<LatencySample> plain;
  for (const auto& s : samples)
    if (s.layer.llc < 0) plain.push_back(s);
  if (plain.empty()) plain = samples;
  m.profile = calibrate(m.profile, plain).profile;
  for (int mode = 0; mode < kNumPrecisions; ++mode) {
    std::vector<LatencySample> own;
    for (const auto& s : plain)
      if (int(s.layer.precision) == mode) own.push_back(s);
    m.mode_profile[mode] = own.empty() ? m.profile : calibrate(m.profile, own).profile;
  }
  for (const auto& s : samples) add_layer(m, s.layer, s.seconds);
}

}  // namespace

HostModel fit_host_model(const Profile& base, const std::vector<CachedMeasurement>& entries,
                         int threads, const HostInfo& host) {
  HostModel m;
  m.profile = base;
  m.threads = threads;
  m.host = host;
  std::vector<LatencySample> positive;
  for (auto& s : samples_from_cache(entries, host, threads))
    if (s.seconds > 0) positive.push_back(std::move(s));
  fit_layers(m, positive);
  std::vector<ModelSample> models;
  for (const auto& e : entries)
    if (auto s = parse_model_signature(e.signature, e.seconds, threads, host))
      if (s->seconds > 0 && s->layers_s > 0) models.push_back(*s);
  m.model_samples = int(models.size());
  fit_model_overhead(m, models);
  return m;
}

HostModel load_host_model(const Profile& base, const MeasureCache& cache, int threads,
                          const HostInfo& host) {
  HostModel m = fit_host_model(base, cache.all(), measured_threads(threads), host);
  if (host.cpu == this_host().cpu) m.llc_bytes = host_llc_bytes();
  return m;
}

namespace {

// A layer not in the cache: a cached layer of its geometry scaled by the roofline ratio (the
// nearest in roofline time, so the ratio corrects little), else the fitted roofline.
double unseen_layer(const LayerDesc& d, const HostModel& m, int context, bool& scaled) {
  const double roof = roofline(d, m.mode_profile[int(d.precision)]).latency_s;
  LayerDesc h = as_run_here(d);
  h.llc = context;
  auto it = m.geometry.find(geometry_key(h));
  if (it == m.geometry.end() && context >= 0) h.llc = -1, it = m.geometry.find(geometry_key(h));
  scaled = it != m.geometry.end();
  if (!scaled) return roof;
  const CachedLayer* best = nullptr;
  double best_gap = 0;
  for (const auto& c : it->second) {
    const double gap = std::abs(std::log(c.roofline_s / roof));
    if (!best || gap < best_gap) best = &c, best_gap = gap;
  }
  return best->seconds * roof / best->roofline_s;
}

// The cached time of d: in its weights context when there is one, else in any.
std::unordered_map<std::string, double>::const_iterator cached(const LayerDesc& d,
                                                               const HostModel& m, int context) {
  LayerDesc h = as_run_here(d);
  if (context >= 0) {
    h.llc = context;
    if (auto it = m.layers.find(layer_key(h)); it != m.layers.end()) return it;
    h.llc = -1;
  }
  return m.layers.find(layer_key(h));
}

}  // namespace

HostPrediction predict_host(const std::vector<LayerDesc>& schedule, const HostModel& m) {
  const int context = weights_context(schedule, m.llc_bytes);
  HostPrediction out;
  out.layer_s.resize(schedule.size());
  out.measured.resize(schedule.size());
  out.scaled.resize(schedule.size());
  double layers = 0, reorders = 0;
  for (size_t k = 0; k < schedule.size(); ++k) {
    const auto& d = schedule[k];
    if (d.kind == LayerKind::kReorder && !d.graph_op) {
      const double t = m.reorder_s_per_byte > 0 ? m.reorder_s_per_byte * reorder_bytes({d})
                                                : roofline(d, m.profile).latency_s;
      out.layer_s[k] = t;
      reorders += t;
      continue;
    }
    const auto hit = cached(d, m, context);
    out.measured[k] = hit != m.layers.end();
    bool scaled = false;
    out.layer_s[k] = out.measured[k] ? hit->second : unseen_layer(d, m, context, scaled);
    out.scaled[k] = scaled;
    layers += out.layer_s[k];
  }
  out.total_s = m.layer_scale * layers + reorders + m.fixed_s;
  return out;
}

HostPrediction predict_host(const Graph& g, const std::vector<LayerDesc>& schedule, HostModel& m,
                            MeasureCache& cache, const HostPredictOptions& options) {
  const bool unseen = std::any_of(schedule.begin(), schedule.end(), [&](const LayerDesc& d) {
    return (d.kind != LayerKind::kReorder || d.graph_op) &&
           !m.layers.count(layer_key(as_run_here(d)));
  });
  if (options.measure_unseen && unseen && !schedule.empty()) {
    const Measurement meas = measure(g, schedule, {schedule[0].batch, m.threads, options.repeats});
    record(cache, schedule, meas, m.threads, options.repeats);
    // Entries no step ran for cost nothing here; remembered (in memory) so they are not measured
    // again, but not stored: calibration needs positive latencies.
    const int context = weights_context(schedule, m.llc_bytes);
    for (size_t k = 0; k < schedule.size(); ++k)
      if (schedule[k].kind != LayerKind::kReorder || schedule[k].graph_op) {
        add_layer(m, schedule[k], meas.layer_s[k]);
        LayerDesc d = schedule[k];
        d.llc = context;
        if (context >= 0) add_layer(m, d, meas.layer_s[k]);
      }
  }
  return predict_host(schedule, m);
}

}  // namespace autocompress
