#include "compressors/recover.hpp"

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "common/error.hpp"
#include "compressors/calibrate.hpp"
#include "evaluator/onednn_executor.hpp"

namespace autocompress {
namespace {

// The calibration pass of the quantizer (compressors/calibrate.hpp) at the recovery's batch and
// threads: f(tensor index -> HostTensor) per batch.
void for_each_batch(const Graph& g, const std::vector<std::string>& tensors, const Dataset& ds,
                    const RecoverOptions& o,
                    const std::function<void(const std::vector<const HostTensor*>&)>& f) {
  CalibOptions c;
  c.batch = o.batch, c.threads = o.threads;
  for_each_calibration_batch(g, tensors, ds, c, f);
}

// Input patches of one Conv at sampled output positions, in the weight's (c, kh, kw) order.
class PatchSampler {
 public:
  PatchSampler(const Graph& g, const Node& n, const RecoverOptions& o, uint32_t seed)
      : o_(o), rng_(seed) {
    const Shape& w = g.initializer(n.inputs[1]).shape;
    x_ = g.value(n.inputs[0]).shape;
    y_ = g.value(n.outputs[0]).shape;
    conv_ = n.op == "Conv";
    if (conv_) {
      kh_ = w[2], kw_ = w[3];
      stride_ = n.ints("strides"), pads_ = n.ints("pads"), dil_ = n.ints("dilations");
    }
    features_ = conv_ ? x_[1] * kh_ * kw_ : x_[1];
  }
  int64_t features() const { return features_; }

  // Rows [x; 1] for every sample of the batch `t`.
  Eigen::MatrixXd rows(const HostTensor& t) {
    const int64_t b = t.shape[0];
    const int64_t per = conv_ ? o_.positions_per_image : 1;
    Eigen::MatrixXd p(b * per, features_ + 1);
    for (int64_t s = 0; s < b; ++s)
      for (int64_t k = 0; k < per; ++k) {
        auto row = p.row(s * per + k);
        if (conv_)
          fill_patch(t, s, row);
        else
          for (int64_t f = 0; f < features_; ++f) row(f) = t.data[s * features_ + f];
        row(features_) = 1.0;
      }
    return p;
  }

 private:
  template <class Row>
  void fill_patch(const HostTensor& t, int64_t s, Row& row) {
    const int64_t c_in = x_[1], h = x_[2], w = x_[3];
    const int64_t oy = std::uniform_int_distribution<int64_t>(0, y_[2] - 1)(rng_);
    const int64_t ox = std::uniform_int_distribution<int64_t>(0, y_[3] - 1)(rng_);
    int64_t f = 0;
    for (int64_t c = 0; c < c_in; ++c)
      for (int64_t i = 0; i < kh_; ++i)
        for (int64_t j = 0; j < kw_; ++j, ++f) {
          const int64_t iy = oy * stride_[0] - pads_[0] + i * dil_[0];
          const int64_t ix = ox * stride_[1] - pads_[1] + j * dil_[1];
          row(f) = iy < 0 || iy >= h || ix < 0 || ix >= w
                       ? 0.0
                       : double(t.data[((s * c_in + c) * h + iy) * w + ix]);
        }
  }

  const RecoverOptions& o_;
  std::mt19937 rng_;
  Shape x_, y_;
  bool conv_ = false;
  int64_t kh_ = 1, kw_ = 1, features_ = 0;
  std::vector<int64_t> stride_, pads_, dil_;
};

// The initializer `name` of `g`, copied under a new name for node `n` when another node uses it.
TensorData& own(Graph& g, Node& n, size_t input) {
  int uses = 0;
  for (const auto& m : g.nodes)
    uses += int(std::count(m.inputs.begin(), m.inputs.end(), n.inputs[input]));
  if (uses > 1) {
    const std::string copy = n.inputs[input] + "." + n.name;
    g.initializers[copy] = g.initializers.at(n.inputs[input]);
    g.values[copy] = g.values.at(n.inputs[input]);
    g.values[copy].name = copy;
    n.inputs[input] = copy;
  }
  return g.initializers.at(n.inputs[input]);
}

Node& node_of(Graph& g, const std::string& name) {
  for (auto& n : g.nodes)
    if (n.name == name) return n;
  throw ModelError(g.source, name, "node not found");
}

// Original [W b] of a layer as an M x (D + 1) matrix.
Eigen::MatrixXd weights_with_bias(const Graph& g, const Node& n) {
  const TensorData& w = g.initializer(n.inputs[1]);
  const int64_t m = w.shape[0], d = w.size() / m;
  Eigen::MatrixXd wb(m, d + 1);
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t f = 0; f < d; ++f) wb(r, f) = w.f[r * d + f];
    wb(r, d) = n.inputs.size() > 2 && !n.inputs[2].empty() ? g.initializer(n.inputs[2]).f[r] : 0.0;
  }
  return wb;
}

// Writes refitted rows `theta` ((|K| + 1) x M_original; last row the bias) into layer `n`.
void write_layer(Graph& g, Node& n, const Eigen::MatrixXd& theta,
                 const std::vector<int64_t>& rows) {
  const int64_t nk = theta.rows() - 1;
  TensorData& w = own(g, n, 1);
  if (w.size() != int64_t(rows.size()) * nk)
    throw ModelError(g.source, n.name,
                     "reconstruction does not fit the pruned weight " + shape_str(w.shape));
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t f = 0; f < nk; ++f) w.f[r * nk + f] = float(theta(f, rows[r]));
  if (n.inputs.size() < 3 || n.inputs[2].empty()) {
    const std::string name = n.name + ".recovered_bias";
    g.initializers[name] = TensorData{DType::kFloat, {int64_t(rows.size())}, {}, {}};
    g.initializers[name].f.assign(rows.size(), 0.f);
    g.values[name] = {name, DType::kFloat, {int64_t(rows.size())}};
    n.inputs.resize(3);
    n.inputs[2] = name;
  }
  TensorData& b = own(g, n, 2);
  for (size_t r = 0; r < rows.size(); ++r) b.f[r] = float(theta(nk, rows[r]));
}

bool same_weights(const Graph& a, const Graph& b, const Node& n) {
  const Node* m = a.find_node(n.name);
  if (!m) return false;
  for (size_t k = 1; k < n.inputs.size() && k < 3; ++k) {
    if (n.inputs[k].empty() != (m->inputs.size() <= k || m->inputs[k].empty())) return false;
    if (n.inputs[k].empty()) continue;
    const TensorData &x = b.initializer(n.inputs[k]), &y = a.initializer(m->inputs[k]);
    if (x.shape != y.shape || x.f != y.f) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> reconstructible_layers(const Graph& g) {
  std::set<std::string> names;
  for (const auto& gr : dependency_groups(g))
    if (gr.prunable)
      for (const auto& c : gr.consumers) names.insert(c.layer);
  std::vector<std::string> out;
  for (const auto& n : g.nodes)
    if (names.count(n.name)) out.push_back(n.name);
  return out;
}

ReconstructionStats collect_reconstruction_stats(const Graph& original, const Dataset& calib,
                                                 const std::vector<std::string>& layers,
                                                 const RecoverOptions& options) {
  ReconstructionStats st;
  std::vector<std::string> inputs, kept;
  std::vector<PatchSampler> samplers;
  for (size_t k = 0; k < layers.size(); ++k) {
    const Node* n = original.find_node(layers[k]);
    if (!n || (n->op != "Conv" && n->op != "Gemm") || n->i("group", 1) != 1)
      throw UsageError("reconstruction: '" + layers[k] + "' is not a Conv (group 1) or Gemm layer");
    PatchSampler s(original, *n, options, options.seed + uint32_t(k));
    if (s.features() > options.max_features) {
      st.notes.push_back("'" + layers[k] + "': skipped, " + std::to_string(s.features()) +
                         " input features > max_features " + std::to_string(options.max_features));
      continue;
    }
    st.layers[layers[k]] = {s.features(), 0,
                            Eigen::MatrixXd::Zero(s.features() + 1, s.features() + 1)};
    kept.push_back(layers[k]);
    inputs.push_back(n->inputs[0]);
    samplers.push_back(std::move(s));
  }
  if (kept.empty()) return st;
  for_each_batch(original, inputs, calib, options, [&](const std::vector<const HostTensor*>& t) {
    for (size_t k = 0; k < kept.size(); ++k) {
      const Eigen::MatrixXd p = samplers[k].rows(*t[k]);
      LayerGram& lg = st.layers[kept[k]];
      lg.s.selfadjointView<Eigen::Lower>().rankUpdate(p.transpose());
      lg.samples += p.rows();
    }
  });
  for (auto& [name, lg] : st.layers) lg.s = lg.s.selfadjointView<Eigen::Lower>();
  return st;
}

namespace {

// Indices into a layer's Gram features of the input channels `keep` (each with its kH x kW taps).
std::vector<int> kept_features(const Graph& original, const Node& n, const LayerGram& lg,
                               const std::vector<int64_t>& keep) {
  const int64_t taps = n.op == "Conv" ? lg.features / original.value(n.inputs[0]).shape[1] : 1;
  std::vector<int> kz;
  for (int64_t p : keep)
    for (int64_t t = 0; t < taps; ++t) kz.push_back(int(p * taps + t));
  return kz;
}

}  // namespace

std::map<std::string, Eigen::MatrixXd> input_second_moments(const Graph& original,
                                                            const ChannelAnalysis& analysis,
                                                            const PruneReport& report,
                                                            const ReconstructionStats& stats,
                                                            const std::set<std::string>& layers) {
  std::map<std::string, Eigen::MatrixXd> out;
  for (const auto& name : layers) {
    const auto it = stats.layers.find(name);
    const Node* n = original.find_node(name);
    if (it == stats.layers.end() || !n || it->second.samples == 0) continue;
    const LayerGram& lg = it->second;
    const double inv = 1.0 / double(lg.samples);
    if (const auto keep_in = kept_positions(analysis, report.kept, n->inputs[0])) {
      const std::vector<int> kz = kept_features(original, *n, lg, *keep_in);
      out[name] = lg.s(kz, kz) * inv;
    } else {
      out[name] = lg.s.topLeftCorner(lg.features, lg.features) * inv;
    }
  }
  return out;
}

Graph reconstruct(const Graph& original, const Graph& pruned, const PruneReport& report,
                  const ReconstructionStats& stats, const RecoverOptions& options,
                  std::vector<std::string>* notes) {
  const ChannelAnalysis a = analyze_channels(original);
  Graph out = pruned;
  for (const auto& n : original.nodes) {
    auto it = stats.layers.find(n.name);
    if (it == stats.layers.end()) continue;
    const auto keep_in = kept_positions(a, report.kept, n.inputs[0]);
    if (!keep_in) continue;
    const LayerGram& lg = it->second;
    std::vector<int> kz = kept_features(original, n, lg, *keep_in);
    const int64_t nk = int64_t(kz.size());
    kz.push_back(int(lg.features));
    Eigen::MatrixXd lhs = lg.s(kz, kz);
    const double scale = nk > 0 ? lhs.diagonal().head(nk).mean() : 0.0;
    lhs.diagonal().head(nk).array() += options.ridge * std::max(scale, 1e-12);
    const Eigen::MatrixXd rhs = lg.s(kz, Eigen::all) * weights_with_bias(original, n).transpose();
    const Eigen::MatrixXd theta = lhs.ldlt().solve(rhs);
    std::vector<int64_t> rows(theta.cols());
    std::iota(rows.begin(), rows.end(), 0);
    if (auto keep_out = kept_positions(a, report.kept, n.outputs[0])) rows = *keep_out;
    write_layer(out, node_of(out, n.name), theta, rows);
    if (notes)
      notes->push_back("'" + n.name + "': refitted on " + std::to_string(nk) + " of " +
                       std::to_string(lg.features) + " input features, " +
                       std::to_string(lg.samples) + " samples");
  }
  return out;
}

Graph reestimate_batchnorm(const Graph& original, const Graph& compressed, const Dataset& calib,
                           const RecoverOptions& options) {
  std::set<std::string> changed;
  std::vector<std::string> bn_inputs;
  std::vector<std::string> bns;
  for (const auto& n : compressed.nodes) {
    bool c = std::any_of(n.inputs.begin(), n.inputs.end(),
                         [&](const std::string& t) { return changed.count(t) != 0; });
    if ((n.op == "Conv" || n.op == "Gemm") && !same_weights(original, compressed, n)) c = true;
    if (n.op == "BatchNormalization" && changed.count(n.inputs[0]))
      bn_inputs.push_back(n.inputs[0]), bns.push_back(n.name);
    if (c) changed.insert(n.outputs[0]);
  }
  Graph out = compressed;
  if (bns.empty()) return out;
  std::vector<std::vector<double>> sum(bns.size()), sq(bns.size());
  std::vector<double> count(bns.size(), 0.0);
  for_each_batch(compressed, bn_inputs, calib, options,
                 [&](const std::vector<const HostTensor*>& t) {
                   for (size_t k = 0; k < bns.size(); ++k) {
                     const Shape& s = t[k]->shape;
                     const int64_t c = s[1], inner = numel(s) / (s[0] * c);
                     sum[k].resize(c), sq[k].resize(c);
                     for (int64_t b = 0; b < s[0]; ++b)
                       for (int64_t ch = 0; ch < c; ++ch)
                         for (int64_t i = 0; i < inner; ++i) {
                           const double v = t[k]->data[(b * c + ch) * inner + i];
                           sum[k][ch] += v, sq[k][ch] += v * v;
                         }
                     count[k] += double(s[0] * inner);
                   }
                 });
  for (size_t k = 0; k < bns.size(); ++k) {
    Node& n = node_of(out, bns[k]);
    TensorData& mean = own(out, n, 3);
    TensorData& var = own(out, n, 4);
    for (size_t ch = 0; ch < sum[k].size(); ++ch) {
      const double m = sum[k][ch] / count[k];
      mean.f[ch] = float(m);
      var.f[ch] = float(std::max(0.0, sq[k][ch] / count[k] - m * m));
    }
  }
  return out;
}

}  // namespace autocompress
