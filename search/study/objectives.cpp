#include "search/study/objectives.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "compressors/lowrank.hpp"
#include "compressors/prune.hpp"
#include "compressors/runnable.hpp"

namespace autocompress {

namespace {

void set_channels(Graph& g, const std::string& t, int64_t axis, int64_t c) {
  auto it = g.values.find(t);
  if (it == g.values.end() || int64_t(it->second.shape.size()) <= axis) return;
  it->second.shape[size_t(axis)] = c;
  auto in = g.initializers.find(t);
  if (in != g.initializers.end()) in->second.shape = it->second.shape;
}

int64_t channels_of(const Graph& g, const std::string& t) { return g.value(t).shape.at(1); }

// Shapes of every tensor and initializer after pruning with `kept` channels per group.
void prune_shapes(Graph& g, const ChannelAnalysis& a, const std::map<int, int64_t>& kept) {
  if (kept.empty()) return;
  for (const auto& [t, map] : a.maps) {
    int64_t c = 0;
    for (const auto& seg : map) {
      const auto k = kept.find(a.space_group[size_t(seg.space)]);
      c += (k == kept.end() ? a.space_size[size_t(seg.space)] : k->second) * seg.block;
    }
    set_channels(g, t, 1, c);
  }
  for (Node& n : g.nodes) {
    if (n.op == "Conv" || n.op == "Gemm") {
      const int64_t out = channels_of(g, n.outputs[0]), in = channels_of(g, n.inputs[0]);
      const int64_t group = n.op == "Conv" ? n.i("group", 1) : 1;
      const bool depthwise =
          group > 1 && g.value(n.inputs[1]).shape[1] == 1 && group == g.value(n.inputs[1]).shape[0];
      set_channels(g, n.inputs[1], 0, out);
      if (depthwise)
        n.attrs["group"] = out;
      else
        set_channels(g, n.inputs[1], 1, in / group);
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) set_channels(g, n.inputs[2], 0, out);
    } else if (n.op == "BatchNormalization") {
      const int64_t c = channels_of(g, n.inputs[0]);
      for (size_t i = 1; i < n.inputs.size(); ++i) set_channels(g, n.inputs[i], 0, c);
    }
  }
}

// The factorized graph's shapes: compressors/lowrank's surgery without the SVD.
void factorize_shapes(Graph& g, const std::string& name, double fraction,
                      std::map<std::string, LayerPrecision>& per_layer) {
  const auto pos =
      std::find_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.name == name; });
  const Shape w = g.value(pos->inputs[1]).shape;
  const int64_t m = w[0], k = numel(w) / m, r = lowrank_rank(m, k, fraction);
  if (!lowrank_skip_reason(g, *pos, m, k, r).empty()) return;
  split_layer(g, size_t(pos - g.nodes.begin()), r, {}, {});
  const auto p = per_layer.find(name);
  if (p != per_layer.end()) per_layer[name + "/lowrank_a"] = p->second;
}

bool has_int8(const std::map<std::string, LayerPrecision>& per_layer) {
  return std::any_of(per_layer.begin(), per_layer.end(),
                     [](const auto& p) { return p.second.mode == Precision::kInt8; });
}

double packed(int64_t count, int bits) { return std::ceil(double(count) * bits / 8.0); }

// Bits a Conv/Gemm stores its float weight in, from its precision / wbits attrs.
int weight_bits(const Node& n) {
  const auto p = n.attrs.find("precision");
  const std::string mode = p == n.attrs.end() ? "fp32" : std::get<std::string>(p->second);
  const int wbits = int(n.i("wbits", 8));
  if (mode == "int8" || wbits < 8) return wbits;
  return mode == "bf16" ? 16 : 32;
}

}  // namespace

LayerPrecision layer_precision(const LayerSettings& s) {
  LayerPrecision p;
  p.mode = s.precision;
  if (s.precision == Precision::kInt8)
    p.wbits = s.wbits, p.abits = 8;
  else if (s.wbits < 8)
    p.wbits = s.wbits;  // weight-only quantization
  return p;
}

// Every initializer once: a Conv/Gemm float weight at its layer's bits (+ one fp32 scale per
// output channel when quantized), the integer input of a weight DequantizeLinear at its layer's
// wbits with its fp32 scales (zero points and activation quantization parameters are not
// stored), every other float initializer at 32 bits.
double packed_size_bytes(const Graph& g) {
  double bytes = 0;
  std::set<std::string> seen;
  for (const Node& n : g.nodes) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const std::string& t = n.inputs[i];
      if (t.empty() || !g.is_initializer(t) || !seen.insert(t).second) continue;
      const TensorData& d = g.initializer(t);
      const bool weighted = (n.op == "Conv" || n.op == "Gemm") && i == 1;
      if (n.op == "QuantizeLinear") continue;
      if (n.op == "DequantizeLinear") {
        const auto cons = g.consumers(n.outputs[0]);
        if (i != 1 && i != 0) continue;  // zero points
        const bool weight = g.is_initializer(n.inputs[0]);
        if (!weight) continue;  // activation scales
        const Node* layer = cons.empty() ? nullptr : cons[0];
        bytes +=
            i == 0 ? packed(d.size(), layer ? int(layer->i("wbits", 8)) : 8) : packed(d.size(), 32);
      } else if (weighted && d.is_float()) {
        const int bits = weight_bits(n);
        bytes += packed(d.size(), bits);
        if (bits < 16) bytes += packed(d.shape.at(0), 32);
      } else if (d.is_float()) {
        bytes += packed(d.size(), 32);
      }
    }
  }
  return bytes;
}

ObjectiveModel::ObjectiveModel(const Graph& g, const Profile& target, int64_t batch,
                               int64_t channel_multiple, std::set<std::string> refit_layers,
                               std::shared_ptr<const HostModel> host)
    : shape_only_(g),
      target_(target),
      batch_(batch),
      channel_multiple_(channel_multiple),
      analysis_(analyze_channels(g)),
      refit_(std::move(refit_layers)),
      host_(std::move(host)) {
  for (auto& [name, t] : shape_only_.initializers) t.f.clear(), t.i.clear();
  for (const auto& l : weighted_layers(g)) layers_.push_back(l.name);
  if (host_) signs_ = synthetic_signs(g);
}

// The shape-only compressed graph: pruned shapes, precision / wbits attrs on every Conv/Gemm,
// factorized layers split; `per_layer` gets the precision of every Conv/Gemm node.
Graph ObjectiveModel::compressed(const Recipe& r,
                                 std::map<std::string, LayerPrecision>& per_layer) const {
  Graph g = shape_only_;
  std::map<int, int64_t> kept;
  for (const auto& [id, ratio] : group_prune_ratios(r, analysis_.groups)) {
    const PruneGroup& gr = analysis_.groups[size_t(id)];
    const int64_t k = kept_channel_count(gr.channels, ratio, channel_multiple_);
    if (k < gr.channels) kept[id] = k;
  }
  prune_shapes(g, analysis_, kept);
  for (Node& n : g.nodes)  // LS refit writes a bias into layers that had none (recover.cpp)
    if (refit_.count(n.name) && (n.inputs.size() < 3 || n.inputs[2].empty()) &&
        g.value(n.inputs[0]).shape != shape_only_.value(n.inputs[0]).shape) {
      const std::string b = n.name + ".recovered_bias";
      const Shape shape{g.value(n.inputs[1]).shape.at(0)};
      g.values[b] = {b, DType::kFloat, shape};
      g.initializers[b] = {DType::kFloat, shape, {}, {}};
      n.inputs.resize(3);
      n.inputs[2] = b;
    }
  for (const auto& name : layers_) {
    const LayerSettings s = r.settings(name);
    Node& n = *std::find_if(g.nodes.begin(), g.nodes.end(),
                            [&](const Node& x) { return x.name == name; });
    set_mode_attrs(n, s.precision, s.wbits);
    per_layer[name] = layer_precision(s);
    if (s.rank < 1.0) factorize_shapes(g, name, s.rank, per_layer);
  }
  return g;
}

std::vector<LayerDesc> ObjectiveModel::schedule(const Recipe& r) const {
  std::map<std::string, LayerPrecision> per_layer;
  const Graph g = compressed(r, per_layer);
  return host_ ? host_schedule(g, per_layer) : describe(g, batch_, per_layer);
}

// Without an int8 layer the runnable model has the attribute graph's schedule (weight-only
// quantization is dequantized at compile time): the quantize pass is skipped, it is most of the
// cost of a candidate (bench/search_latency_study --known-only).
std::vector<LayerDesc> ObjectiveModel::host_schedule(
    const Graph& g, const std::map<std::string, LayerPrecision>& per_layer) const {
  if (!has_int8(per_layer)) return describe(g, batch_, per_layer);
  const Graph q = runnable_structure(g, signs_);
  return describe(q, batch_, graph_precisions(q));
}

KnownObjectives ObjectiveModel::evaluate(const Recipe& r) const {
  std::map<std::string, LayerPrecision> per_layer;
  const Graph g = compressed(r, per_layer);
  const auto sched = describe(g, batch_, per_layer);
  const Prediction p = predict(sched, target_);
  KnownObjectives k;
  k.latency_s = p.latency_s;
  if (host_)
    k.latency_s =
        predict_host(has_int8(per_layer) ? host_schedule(g, per_layer) : sched, *host_).total_s;
  k.energy_j = p.energy_pj * 1e-12;
  for (const auto& d : sched)
    if (d.kind == LayerKind::kConv || d.kind == LayerKind::kGemm || d.kind == LayerKind::kDepthwise)
      k.macs += double(layer_macs(d));
  k.size_bytes = packed_size_bytes(g);
  return k;
}

}  // namespace autocompress
