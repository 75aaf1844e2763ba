#include "compressors/prune.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <set>

#include "common/error.hpp"

namespace autocompress {

int64_t kept_channel_count(int64_t channels, double ratio, int64_t multiple) {
  multiple = std::max<int64_t>(1, multiple);
  const double want = double(channels) * (1.0 - ratio);
  const int64_t k = int64_t(std::llround(want / double(multiple))) * multiple;
  return std::clamp(k, std::min(channels, multiple), channels);
}

namespace {

// Rows of a [M, ...] weight: row m spans data[m*inner, (m+1)*inner).
int64_t row_size(const TensorData& w) { return w.size() / w.shape[0]; }

bool row_is_zero(const TensorData& w, int64_t m) {
  const int64_t inner = row_size(w);
  return std::all_of(w.f.begin() + m * inner, w.f.begin() + (m + 1) * inner,
                     [](float v) { return v == 0.f; });
}

float bias_at(const Graph& g, const Node& n, int64_t m) {
  if (n.inputs.size() < 3 || n.inputs[2].empty()) return 0.f;
  return g.initializer(n.inputs[2]).f[m];
}

// Keep indices `keep` of axis `axis` of `t`.
void slice_axis(TensorData& t, size_t axis, const std::vector<int64_t>& keep) {
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= t.shape[d];
  for (size_t d = axis + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
  std::vector<float> f;
  f.reserve(outer * keep.size() * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : keep) {
      auto first = t.f.begin() + (o * t.shape[axis] + k) * inner;
      f.insert(f.end(), first, first + inner);
    }
  t.f = std::move(f);
  t.shape[axis] = int64_t(keep.size());
}

using Consts = std::vector<std::optional<double>>;

double activation(const Node& n, double v) {
  if (n.op == "Relu") return std::max(0.0, v);
  if (n.op == "Sigmoid") return 1.0 / (1.0 + std::exp(-v));
  if (n.op == "HardSwish") return v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0);
  if (n.op == "Clip") return std::clamp(v, double(n.f("min")), double(n.f("max")));
  if (n.op == "LeakyRelu") return v < 0 ? double(n.f("alpha")) * v : v;
  if (n.op == "HardSigmoid")
    return std::clamp(double(n.f("alpha")) * v + double(n.f("beta")), 0.0, 1.0);
  return v;  // pooling: a constant channel stays that constant
}

double binary(const std::string& op, double a, double b) {
  if (op == "Add") return a + b;
  if (op == "Sub") return a - b;
  if (op == "Mul") return a * b;
  return a / b;
}

bool any_nonzero(const std::vector<int64_t>& v) {
  return std::any_of(v.begin(), v.end(), [](int64_t x) { return x != 0; });
}

// Which channels of each modelled tensor are the same constant at every position and in every
// sample: the channels of layers whose weights are all zero, followed through the ops that keep
// a per-channel constant constant.
class ConstantChannels {
 public:
  ConstantChannels(const Graph& g, const ChannelAnalysis& a) : g_(g), a_(a) {
    for (const auto& n : g.nodes)
      if (a.maps.count(n.outputs[0])) visit(n);
  }
  const Consts* of(const std::string& t) const {
    auto it = c_.find(t);
    return it == c_.end() ? nullptr : &it->second;
  }

 private:
  int64_t channels(const std::string& t) const {
    int64_t c = 0;
    for (const auto& s : a_.maps.at(t)) c += a_.space_size[s.space];
    return c;
  }

  void visit(const Node& n) {
    const std::string& out = n.outputs[0];
    Consts r(channels(out));
    const Consts* in = n.inputs.empty() ? nullptr : of(n.inputs[0]);
    if (n.op == "Conv" && is_depthwise(g_, n)) {
      const TensorData& w = g_.initializer(n.inputs[1]);
      const bool padded = any_nonzero(n.ints("pads"));
      for (int64_t c = 0; c < int64_t(r.size()); ++c) {
        if (row_is_zero(w, c)) {
          r[c] = bias_at(g_, n, c);
        } else if (in && (*in)[c] && !padded) {
          const double sum = std::accumulate(w.f.begin() + c * row_size(w),
                                             w.f.begin() + (c + 1) * row_size(w), 0.0);
          r[c] = *(*in)[c] * sum + bias_at(g_, n, c);
        }
      }
    } else if (n.op == "Conv" || n.op == "Gemm") {
      const TensorData& w = g_.initializer(n.inputs[1]);
      for (int64_t m = 0; m < int64_t(r.size()); ++m)
        if (row_is_zero(w, m)) r[m] = bias_at(g_, n, m);
    } else if (n.op == "BatchNormalization") {
      if (in) {
        const auto &s = g_.initializer(n.inputs[1]).f, &b = g_.initializer(n.inputs[2]).f,
                   &mu = g_.initializer(n.inputs[3]).f, &var = g_.initializer(n.inputs[4]).f;
        const double eps = n.f("epsilon", 1e-5f);
        for (size_t c = 0; c < r.size(); ++c)
          if ((*in)[c]) r[c] = (*(*in)[c] - mu[c]) / std::sqrt(var[c] + eps) * s[c] + b[c];
      }
    } else if (n.op == "Concat") {
      r.clear();
      for (const auto& t : n.inputs) {
        const Consts* x = of(t);
        if (!x) x = &c_[t];  // unmodelled constants: none
        r.insert(r.end(), x->begin(), x->end());
      }
      r.resize(channels(out));
    } else if (n.op == "Add" || n.op == "Sub" || n.op == "Mul" || n.op == "Div") {
      visit_binary(n, r);
    } else if (in && keeps_constants(n)) {
      for (size_t c = 0; c < r.size(); ++c)
        if ((*in)[c]) r[c] = activation(n, *(*in)[c]);
    }
    c_[out] = std::move(r);
  }

  bool keeps_constants(const Node& n) const {
    if (n.op == "AveragePool") return !(n.i("count_include_pad", 0) && any_nonzero(n.ints("pads")));
    if (n.op == "Pad") return !any_nonzero(n.ints("pads"));
    return n.op != "Conv" && n.op != "Gemm";  // activations, pooling, Flatten, Reshape
  }

  void visit_binary(const Node& n, Consts& r) const {
    const std::string &a = n.inputs[0], &b = n.inputs[1];
    const bool ca = g_.is_initializer(a), cb = g_.is_initializer(b);
    if (ca || cb) {
      const TensorData& k = g_.initializer(ca ? a : b);
      const Consts* x = of(ca ? b : a);
      if (!x || k.size() != 1) return;
      for (size_t c = 0; c < r.size(); ++c)
        if ((*x)[c]) r[c] = ca ? binary(n.op, k.f[0], *(*x)[c]) : binary(n.op, *(*x)[c], k.f[0]);
      return;
    }
    const Consts *x = of(a), *y = of(b);
    if (!x || !y || x->size() != r.size() || y->size() != r.size()) return;
    for (size_t c = 0; c < r.size(); ++c)
      if ((*x)[c] && (*y)[c]) r[c] = binary(n.op, *(*x)[c], *(*y)[c]);
  }

  const Graph& g_;
  const ChannelAnalysis& a_;
  std::unordered_map<std::string, Consts> c_;
};

}  // namespace

std::optional<std::vector<int64_t>> kept_positions(const ChannelAnalysis& a,
                                                   const std::map<int, std::vector<int64_t>>& kept,
                                                   const std::string& t) {
  auto it = a.maps.find(t);
  if (it == a.maps.end()) return std::nullopt;
  std::vector<int64_t> pos;
  bool changed = false;
  int64_t offset = 0;
  for (const auto& s : it->second) {
    const int64_t size = a.space_size[s.space];
    auto k = kept.find(a.space_group[s.space]);
    changed = changed || k != kept.end();
    for (int64_t c = 0; c < size; ++c) {
      if (k != kept.end() && !std::binary_search(k->second.begin(), k->second.end(), c)) continue;
      for (int64_t j = 0; j < s.block; ++j) pos.push_back(offset + c * s.block + j);
    }
    offset += size * s.block;
  }
  if (!changed) return std::nullopt;
  return pos;
}

namespace {

// Applies the kept channel sets to a copy of the graph.
class Pruner {
 public:
  Pruner(const Graph& g, const ChannelAnalysis& a, std::map<int, std::vector<int64_t>> kept,
         const PruneOptions& o, PruneReport& report)
      : orig_(g), g_(g), a_(a), kept_(std::move(kept)), opt_(o), report_(report) {
    for (const auto& n : g.nodes)
      for (const auto& t : n.inputs)
        if (g.is_initializer(t)) ++uses_[t];
  }

  Graph run() {
    if (opt_.fold_constants) {
      ConstantChannels consts(orig_, a_);
      for (auto& n : g_.nodes) fold(n, consts);
    }
    for (auto& n : g_.nodes) apply(n);
    infer_shapes(g_);
    return std::move(g_);
  }

 private:
  std::optional<std::vector<int64_t>> kept_positions(const std::string& t) const {
    return autocompress::kept_positions(a_, kept_, t);
  }

  // The initializer of input `k` of `n`, copied first when another node shares it.
  TensorData& writable(Node& n, size_t k) {
    std::string& name = n.inputs[k];
    if (uses_[name] > 1) {
      --uses_[name];
      const std::string copy = name + "." + n.name;
      g_.initializers[copy] = g_.initializers.at(name);
      g_.values[copy] = g_.values.at(name);
      g_.values[copy].name = copy;
      name = copy;
      uses_[copy] = 1;
    }
    return g_.initializers.at(name);
  }

  void slice(Node& n, size_t input, size_t axis, const std::vector<int64_t>& keep) {
    if (input >= n.inputs.size() || n.inputs[input].empty()) return;
    TensorData& t = writable(n, input);
    slice_axis(t, axis, keep);
    g_.values[n.inputs[input]].shape = t.shape;
  }

  void apply(Node& n) {
    const auto in = n.inputs.empty() ? std::nullopt : kept_positions(n.inputs[0]);
    const auto out = kept_positions(n.outputs[0]);
    if (n.op == "Conv" && is_depthwise(orig_, n)) {
      if (!in) return;
      slice(n, 1, 0, *in);
      slice(n, 2, 0, *in);
      n.attrs["group"] = int64_t(in->size());
    } else if (n.op == "Conv" || n.op == "Gemm") {
      if (in && n.i("group", 1) == 1) slice(n, 1, 1, *in);
      if (out) slice(n, 1, 0, *out), slice(n, 2, 0, *out);
    } else if (n.op == "BatchNormalization") {
      if (in)
        for (size_t k = 1; k <= 4; ++k) slice(n, k, 0, *in);
    } else if (n.op == "Reshape" && out) {
      auto shape = n.ints("shape");
      shape[1] = int64_t(out->size());
      n.attrs["shape"] = shape;
    }
  }

  // Folds the constant value of pruned input channels into the bias of consumer `n`.
  void fold(Node& n, const ConstantChannels& consts) {
    if ((n.op != "Conv" && n.op != "Gemm") || is_depthwise(orig_, n) || n.i("group", 1) != 1)
      return;
    const std::string& x = n.inputs[0];
    const Consts* c = consts.of(x);
    const auto keep = kept_positions(x);
    if (!c || !keep) return;
    const ChannelMap& map = a_.maps.at(x);
    const TensorData& w = orig_.initializer(n.inputs[1]);
    const int64_t m_out = w.shape[0], k_in = w.shape[1], taps = w.size() / (m_out * k_in);
    std::vector<double> delta(m_out, 0.0);
    bool any = false;
    int64_t channel = 0, offset = 0;
    for (const auto& s : map) {
      for (int64_t ch = 0; ch < a_.space_size[s.space]; ++ch, ++channel) {
        const int64_t first = offset + ch * s.block;
        const auto v = (*c)[channel];
        if (!v || *v == 0 || std::binary_search(keep->begin(), keep->end(), first)) continue;
        if (n.op == "Conv" && any_nonzero(n.ints("pads"))) {
          report_.notes.push_back("'" + n.name + "': constant input channel " +
                                  std::to_string(channel) +
                                  " dropped, not folded: the conv is padded, so the fold would be "
                                  "exact only away from the borders");
          continue;
        }
        for (int64_t m = 0; m < m_out; ++m) {
          double sum = 0;
          for (int64_t p = first; p < first + s.block; ++p)
            for (int64_t t = 0; t < taps; ++t) sum += w.f[(m * k_in + p) * taps + t];
          delta[m] += *v * sum;
        }
        any = true;
        report_.notes.push_back("'" + n.name + "': folded constant input channel " +
                                std::to_string(channel) + " into the bias");
      }
      offset += a_.space_size[s.space] * s.block;
    }
    if (any) add_bias(n, delta);
  }

  void add_bias(Node& n, const std::vector<double>& delta) {
    if (n.inputs.size() < 3 || n.inputs[2].empty()) {
      const std::string name = n.name + ".folded_bias";
      TensorData b;
      b.shape = {int64_t(delta.size())};
      b.f.assign(delta.size(), 0.f);
      g_.initializers[name] = b;
      g_.values[name] = {name, DType::kFloat, b.shape};
      n.inputs.resize(3);
      n.inputs[2] = name;
      uses_[name] = 1;
    }
    TensorData& b = writable(n, 2);
    for (size_t m = 0; m < delta.size(); ++m) b.f[m] = float(double(b.f[m]) + delta[m]);
  }

  const Graph& orig_;
  Graph g_;
  const ChannelAnalysis& a_;
  std::map<int, std::vector<int64_t>> kept_;
  const PruneOptions& opt_;
  PruneReport& report_;
  std::unordered_map<std::string, int> uses_;
};

std::vector<int64_t> select_channels(const std::vector<double>& importance, int64_t keep) {
  std::vector<int64_t> order(importance.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return importance[a] > importance[b]; });
  order.resize(keep);
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace

std::vector<double> channel_importance(const Graph& g, const PruneGroup& group,
                                       Importance importance) {
  std::vector<double> score(group.channels, 0.0);
  for (const auto& p : group.producers) {
    const TensorData& w = g.initializer(g.find_node(p)->inputs[1]);
    const int64_t inner = row_size(w);
    for (int64_t m = 0; m < group.channels; ++m) {
      double s = 0;
      for (int64_t k = m * inner; k < (m + 1) * inner; ++k)
        s += importance == Importance::kL1 ? std::abs(double(w.f[k]))
                                           : double(w.f[k]) * double(w.f[k]);
      score[m] += importance == Importance::kL1 ? s : std::sqrt(s);
    }
  }
  return score;
}

Graph prune(const Graph& g, const std::map<int, double>& ratios, const PruneOptions& options,
            PruneReport* report) {
  const ChannelAnalysis a = analyze_channels(g);
  PruneReport local;
  PruneReport& r = report ? *report : local;
  r = {};
  for (const auto& [id, ratio] : ratios) {
    if (id < 0 || id >= int(a.groups.size()))
      throw UsageError("prune: unknown dependency group " + std::to_string(id) +
                       " (the model has " + std::to_string(a.groups.size()) + ")");
    if (!(ratio >= 0 && ratio < 1))
      throw UsageError("prune: ratio of " + a.groups[id].label() + " must be in [0, 1), got " +
                       std::to_string(ratio));
    if (ratio == 0) continue;
    if (!a.groups[id].prunable)
      throw UsageError("prune: " + a.groups[id].label() +
                       " cannot be pruned: " + a.groups[id].reason);
    const PruneGroup& gr = a.groups[id];
    const int64_t keep = kept_channel_count(gr.channels, ratio, options.channel_multiple);
    if (keep < gr.channels)
      r.kept[id] = select_channels(channel_importance(g, gr, options.importance), keep);
  }
  if (r.kept.empty()) return g;
  return Pruner(g, a, r.kept, options, r).run();
}

}  // namespace autocompress
