#include "compressors/quantize_pass.hpp"

#include <algorithm>
#include <numeric>
#include <set>

#include "common/error.hpp"
#include "compressors/recipe.hpp"

namespace autocompress {
namespace {

bool passes_quantization(const std::string& op) {
  static const std::set<std::string> ops{"MaxPool", "AveragePool", "GlobalAveragePool",
                                         "Flatten", "Reshape",     "Concat"};
  return ops.count(op) != 0;
}

bool weight_quantized(const QuantSetting& s) {
  return s.precision == Precision::kInt8 || s.wbits < 8;
}

const Node& layer(const Graph& g, const std::string& name) {
  const Node* n = g.find_node(name);
  if (!n || (n->op != "Conv" && n->op != "Gemm"))
    throw UsageError("quantize: '" + name + "' is not a Conv/Gemm node of " + g.source);
  return *n;
}

// Quantized activations as classes sharing one scale: tensor -> class root.
struct TensorClasses {
  std::map<std::string, std::string> parent;
  std::string root(const std::string& t) {
    std::string r = t;
    while (parent.at(r) != r) r = parent.at(r);
    return r;
  }
  void add(const std::string& t) { parent.emplace(t, t); }
  void join(const std::string& a, const std::string& b) {
    const std::string x = root(a), y = root(b);
    if (x != y) parent[std::max(x, y)] = std::min(x, y);
  }
};

TensorClasses quantized_tensors(const Graph& g, const std::map<std::string, QuantSetting>& s) {
  TensorClasses c;
  std::vector<std::string> work;
  std::vector<std::pair<std::string, std::string>> shared;  // (input, output) of pass-through ops
  for (const auto& [name, q] : s)
    if (q.precision == Precision::kInt8) work.push_back(layer(g, name).inputs[0]);
  while (!work.empty()) {
    const std::string t = work.back();
    work.pop_back();
    if (c.parent.count(t)) continue;
    c.add(t);
    const Node* p = g.producer(t);
    if (!p || !passes_quantization(p->op)) continue;
    for (const auto& in : p->inputs)
      if (!in.empty() && !g.is_initializer(in)) shared.emplace_back(in, t), work.push_back(in);
  }
  for (const auto& [a, b] : shared) c.join(a, b);
  return c;
}

const TensorStats& stats_of(const Graph& g, const ActivationStats& st, const std::string& t) {
  auto it = st.find(t);
  if (it == st.end())
    throw ModelError(g.source, "", "no calibration statistics for tensor '" + t + "'");
  return it->second;
}

std::string add_tensor(Graph& g, const std::string& name, TensorData d) {
  g.values[name] = {name, d.dtype, d.shape};
  g.initializers[name] = std::move(d);
  return name;
}

// Scale and signedness of every class of quantized tensors.
struct ActQuant {
  float scale = 1;
  bool is_unsigned = true;
};
std::map<std::string, ActQuant> class_scales(const Graph& g, TensorClasses& c,
                                             const ActivationStats& st, const QuantizeOptions& o) {
  std::map<std::string, ActQuant> out;
  std::map<std::string, double> clip;
  for (const auto& [t, _] : c.parent) {
    const TensorStats& s = stats_of(g, st, t);
    const std::string r = c.root(t);
    const bool seen = out.count(r) != 0;
    out[r].is_unsigned = (!seen || out[r].is_unsigned) && s.min >= 0;
  }
  for (const auto& [t, _] : c.parent) {
    const std::string r = c.root(t);
    const int64_t levels = out[r].is_unsigned ? 255 : 127;
    clip[r] = std::max(clip[r],
                       activation_clip(stats_of(g, st, t).hist, o.act_scale, levels, o.percentile));
  }
  for (auto& [r, q] : out)
    q.scale = clip[r] > 0 ? float(clip[r] / (q.is_unsigned ? 255.0 : 127.0)) : 1.f;
  return out;
}

// Q and DQ nodes for tensor t; consumers are renamed to the DQ output afterwards.
void quantize_tensor(Graph& g, std::vector<Node>& out, const std::string& t, const ActQuant& q) {
  const DType dt = q.is_unsigned ? DType::kUInt8 : DType::kInt8;
  const std::string scale = add_tensor(g, t + "_scale", {DType::kFloat, {}, {q.scale}, {}});
  const std::string zp = add_tensor(g, t + "_zero_point", {dt, {}, {}, {0}});
  const Shape shape = g.value(t).shape;
  g.values[t + "_q"] = {t + "_q", dt, shape};
  g.values[t + "_dq"] = {t + "_dq", DType::kFloat, shape};
  out.push_back({t + "/QuantizeLinear",
                 "QuantizeLinear",
                 {t, scale, zp},
                 {t + "_q"},
                 {{"axis", int64_t(1)}}});
  out.push_back({t + "/DequantizeLinear",
                 "DequantizeLinear",
                 {t + "_q", scale, zp},
                 {t + "_dq"},
                 {{"axis", int64_t(1)}}});
}

// Replaces layer n's weight by DQ(w_q) (emitted into `out`) and corrects its bias.
void quantize_layer_weights(Graph& g, std::vector<Node>& out, Node& n, const QuantSetting& s,
                            const ActivationStats& st, const QuantizeOptions& o) {
  const TensorData w = g.initializer(n.inputs[1]);
  const int64_t m = w.shape[0];
  const QuantizedWeights qw = quantize_weights(w.f, m, s.wbits, o.mse_clipping);
  const std::vector<float> deq = dequantize_weights(qw);
  const std::string wq = add_tensor(g, n.name + ".w_q", {DType::kInt8, w.shape, {}, qw.q});
  const std::string sc = add_tensor(g, n.name + ".w_scale", {DType::kFloat, {m}, qw.scale, {}});
  const std::string zp =
      add_tensor(g, n.name + ".w_zero_point", {DType::kInt8, {m}, {}, std::vector<int64_t>(m, 0)});
  g.values[n.name + ".w_dq"] = {n.name + ".w_dq", DType::kFloat, w.shape};
  out.push_back({n.name + "/DequantizeLinear_w",
                 "DequantizeLinear",
                 {wq, sc, zp},
                 {n.name + ".w_dq"},
                 {{"axis", int64_t(0)}}});
  n.inputs[1] = n.name + ".w_dq";
  if (!o.bias_correction) return;
  const TensorStats& x = stats_of(g, st, n.inputs[0]);
  const int64_t group = n.op == "Conv" ? n.i("group", 1) : 1;
  const int64_t cg = int64_t(x.channel_mean.size()) / group;
  if (cg <= 0 || w.size() % (m * cg) != 0)
    throw ModelError(g.source, n.name,
                     "calibration means of '" + n.inputs[0] + "' have " +
                         std::to_string(x.channel_mean.size()) + " channels, weight " +
                         shape_str(w.shape));
  const auto shift = bias_shift(w.f, deq, m, group, w.size() / (m * cg), x.channel_mean);
  TensorData b{DType::kFloat, {m}, std::vector<float>(size_t(m), 0.f), {}};
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) b.f = g.initializer(n.inputs[2]).f;
  for (int64_t k = 0; k < m; ++k) b.f[size_t(k)] = float(double(b.f[size_t(k)]) - shift[size_t(k)]);
  n.inputs.resize(3);
  n.inputs[2] = add_tensor(g, n.name + ".bias_corrected", std::move(b));
}

}  // namespace

std::vector<std::string> quantize_needs(const Graph& g,
                                        const std::map<std::string, QuantSetting>& settings,
                                        const QuantizeOptions& o) {
  std::set<std::string> need;
  for (const auto& [t, _] : quantized_tensors(g, settings).parent) need.insert(t);
  if (o.bias_correction)
    for (const auto& [name, s] : settings)
      if (weight_quantized(s)) need.insert(layer(g, name).inputs[0]);
  return {need.begin(), need.end()};
}

Graph quantize(const Graph& g, const std::map<std::string, QuantSetting>& settings,
               const ActivationStats& stats, const QuantizeOptions& o,
               std::vector<std::string>* notes) {
  TensorClasses classes = quantized_tensors(g, settings);
  const auto scales = class_scales(g, classes, stats, o);
  Graph r = g;
  std::vector<Node> nodes;
  auto emit_q = [&](const std::string& t) {
    if (classes.parent.count(t)) quantize_tensor(r, nodes, t, scales.at(classes.root(t)));
  };
  for (const auto& t : g.inputs) emit_q(t);
  for (Node n : g.nodes) {
    auto it = settings.find(n.name);
    if (it != settings.end()) {
      layer(g, n.name);
      const QuantSetting& s = it->second;
      if (weight_quantized(s)) quantize_layer_weights(r, nodes, n, s, stats, o);
      set_mode_attrs(n, s.precision, s.wbits);
      if (notes && (weight_quantized(s) || s.precision != Precision::kFp32))
        notes->push_back("'" + n.name + "': " + precision_name(s.precision) + ", weights " +
                         (weight_quantized(s) ? std::to_string(s.wbits) + " bits" : "float"));
    }
    nodes.push_back(n);
    for (const auto& t : n.outputs) emit_q(t);
  }
  for (auto& n : nodes)
    if (n.op != "QuantizeLinear" || !classes.parent.count(n.inputs[0]))
      for (auto& in : n.inputs)
        if (classes.parent.count(in)) in += "_dq";
  r.nodes = std::move(nodes);
  drop_unused_initializers(r);
  return r;
}

void drop_unused_initializers(Graph& g) {
  std::set<std::string> used;
  for (const auto& n : g.nodes) used.insert(n.inputs.begin(), n.inputs.end());
  for (auto it = g.initializers.begin(); it != g.initializers.end();)
    if (used.count(it->first)) {
      ++it;
    } else {
      g.values.erase(it->first);
      it = g.initializers.erase(it);
    }
}

}  // namespace autocompress
