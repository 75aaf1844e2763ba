#include "hwmodels/layer_desc.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "common/error.hpp"
#include "evaluator/fusion.hpp"

namespace autocompress {

Precision parse_mode(const std::string& s, const std::string& field) {
  if (auto p = parse_precision(s)) return *p;
  throw UsageError(field + ": unknown precision '" + s + "' (expected fp32, bf16 or int8)");
}

namespace {

bool is_int8_type(DType t) { return t == DType::kUInt8 || t == DType::kInt8; }

// x_q when t = DequantizeLinear(x_q) of a per-tensor u8/s8 activation (as evaluator/fusion.cpp).
std::optional<QuantTensor> dequantized(const Graph& g, const std::string& t) {
  const Node* dq = g.producer(t);
  if (!dq || dq->op != "DequantizeLinear" || g.is_initializer(dq->inputs[0])) return std::nullopt;
  auto p = quant_params(g, *dq);
  if (!p || !p->per_tensor() || !is_int8_type(p->dtype)) return std::nullopt;
  return QuantTensor{dq->inputs[0], p->scale[0], p->zero_point[0], p->dtype};
}

// Weights t = DequantizeLinear(int8 initializer), symmetric, per tensor or per output channel.
bool int8_weights(const Graph& g, const std::string& t) {
  const Node* dq = g.producer(t);
  if (!dq || dq->op != "DequantizeLinear" || !g.is_initializer(dq->inputs[0])) return false;
  const TensorData& q = g.initializer(dq->inputs[0]);
  auto p = quant_params(g, *dq);
  if (q.dtype != DType::kInt8 || !p || !p->symmetric() || q.shape.empty()) return false;
  return p->per_tensor() || (p->axis == 0 && int64_t(p->scale.size()) == q.shape[0]);
}

constexpr int64_t kMinInt8Channels = 4;  // evaluator/fusion.cpp: VNNI multiplies 4 channels

// The integer input of a Conv/Gemm the evaluator runs in int8 (fusion.cpp's int8_input): DQ(x_q)
// with zero point 0, int8 weights, not a dense Conv with fewer than 4 input channels.
std::optional<QuantTensor> int8_input(const Graph& g, const Node& n) {
  auto q = dequantized(g, n.inputs[0]);
  if (!q || q->zero_point != 0 || !int8_weights(g, n.inputs[1])) return std::nullopt;
  if (n.op == "Conv" && n.i("group", 1) == 1 && g.value(n.inputs[1]).shape.at(1) < kMinInt8Channels)
    return std::nullopt;
  return q;
}

// The grid a QuantizeLinear node quantizes to, when per tensor u8/s8.
std::optional<QuantTensor> quantizes_to(const Graph& g, const Node* q) {
  if (!q || q->op != "QuantizeLinear") return std::nullopt;
  auto p = quant_params(g, *q);
  if (!p || !p->per_tensor() || !is_int8_type(p->dtype)) return std::nullopt;
  return QuantTensor{q->outputs[0], p->scale[0], p->zero_point[0], p->dtype};
}

}  // namespace

std::map<std::string, LayerPrecision> graph_precisions(const Graph& g) {
  std::map<std::string, LayerPrecision> out;
  for (const auto& n : g.nodes) {
    if ((n.op != "Conv" && n.op != "Gemm") || (!n.has("precision") && !n.has("wbits"))) continue;
    LayerPrecision p;
    if (auto it = n.attrs.find("precision"); it != n.attrs.end()) {
      const auto* s = std::get_if<std::string>(&it->second);
      const auto mode = s ? parse_precision(*s) : std::nullopt;
      if (!mode)
        throw ModelError(g.source, n.name, "attribute 'precision': expected fp32, bf16 or int8");
      p.mode = *mode;
    }
    const int nat = precision_bits(p.mode);
    const int wbits = int(n.i("wbits", nat));
    p.wbits = wbits < nat ? wbits : 0;
    // A quantized graph's int8 layer that the evaluator runs in float: weight-only quantization.
    if (p.mode == Precision::kInt8 && g.producer(n.inputs[1]) && !int8_input(g, n))
      p = {Precision::kFp32, wbits < 32 ? wbits : 0, 0};
    out[n.name] = p;
  }
  return out;
}

const char* kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::kConv:
      return "conv";
    case LayerKind::kDepthwise:
      return "depthwise";
    case LayerKind::kGemm:
      return "gemm";
    case LayerKind::kPool:
      return "pool";
    case LayerKind::kEltwise:
      return "eltwise";
    case LayerKind::kBatchNorm:
      return "batchnorm";
    case LayerKind::kConcat:
      return "concat";
    case LayerKind::kReorder:
      return "reorder";
  }
  return "?";
}

int64_t layer_macs(const LayerDesc& d) {
  const int64_t out = d.batch * d.c_out * d.h_out * d.w_out;
  switch (d.kind) {
    case LayerKind::kConv:
    case LayerKind::kDepthwise:
    case LayerKind::kGemm:
      return out * d.kh * d.kw * (d.c_in / d.groups);
    case LayerKind::kPool:
      return out * d.kh * d.kw;
    default:
      return out;
  }
}

namespace {

bool is_activation(const std::string& op) {
  return op == "Relu" || op == "Sigmoid" || op == "HardSwish" || op == "Clip" ||
         op == "LeakyRelu" || op == "HardSigmoid";
}
bool is_binary(const std::string& op) {
  return op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
}

struct Dims {
  int64_t c = 1, h = 1, w = 1;
};
// [N, C, spatial...] -> c, h, w (2-D: h = w = 1; 3-D: w = length; >4-D: h = all but the last).
Dims dims_of(const Shape& s) {
  Dims d;
  if (s.size() >= 2) d.c = s[1];
  if (s.size() >= 3) d.w = s.back();
  for (size_t k = 2; k + 1 < s.size(); ++k) d.h *= s[k];
  return d;
}

// Kernel taps of one spatial axis that fall inside the input, summed over the output positions.
int64_t inside_taps(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  int64_t n = 0;
  for (int64_t o = 0; o < out; ++o)
    for (int64_t t = 0; t < k; ++t) {
      const int64_t i = o * stride - pad + t * dil;
      n += i >= 0 && i < in;
    }
  return n;
}

// Mean kernel taps inside the input per output pixel of a Conv (kh * kw without padding).
double mean_taps(const Node& n, const LayerDesc& d) {
  auto attr = [&](const char* key, size_t k, int64_t def) {
    return n.has(key) && n.ints(key).size() > k ? n.ints(key)[k] : def;
  };
  if (d.h_out < 1 || d.w_out < 1) return 0;
  const int64_t th = inside_taps(d.h_in, d.h_out, d.kh, attr("strides", 0, 1), attr("pads", 0, 0),
                                 attr("dilations", 0, 1));
  const int64_t tw = inside_taps(d.w_in, d.w_out, d.kw, attr("strides", 1, 1), attr("pads", 1, 0),
                                 attr("dilations", 1, 1));
  return double(th) / double(d.h_out) * double(tw) / double(d.w_out);
}

// Where a tensor lives: the mode and bits it was written in.
struct Stored {
  Precision mode = Precision::kFp32;
  int bits = 32;
  bool s8 = false;  // 8-bit integers: s8 (else u8)
};

class Describer {
 public:
  Describer(const Graph& g, int64_t batch, const std::map<std::string, LayerPrecision>& per_layer,
            const LayerPrecision& fallback)
      : g_(g), batch_(batch), per_layer_(per_layer), fallback_(fallback) {
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      index_[&g.nodes[k]] = k;
      for (const auto& in : g.nodes[k].inputs) {
        auto& r = readers_[in];
        if (r.empty() || r.back() != &g.nodes[k]) r.push_back(&g.nodes[k]);
      }
    }
    for (const auto& [name, lp] : per_layer) {
      const Node* n = g.find_node(name);
      if (!n || (n->op != "Conv" && n->op != "Gemm"))
        throw ModelError(g.source, name, "precision given for a node that is not a Conv/Gemm");
    }
  }

  std::vector<LayerDesc> run() {
    for (const auto& in : g_.inputs) stored_[in] = {};
    for (const auto& n : g_.nodes) {
      if (absorbed_.count(&n)) continue;
      if (integer_through(n)) continue;
      if (n.op == "Flatten" || n.op == "Reshape") {
        stored_[n.outputs[0]] = stored(n.inputs[0]);
        reads_.insert(n.inputs[0]);
      } else if (n.op == "Conv" || n.op == "Gemm") {
        weighted(n);
      } else if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") {
        quant_step(n);
      } else {
        unweighted(n);
      }
    }
    for (const auto& t : g_.outputs) convert(t, Precision::kFp32, 32);
    return drop_unread_dequantize();
  }

 private:
  Stored stored(const std::string& t) const {
    auto it = stored_.find(t);
    return it == stored_.end() ? Stored{} : it->second;
  }
  bool is_output(const std::string& t) const {
    return std::find(g_.outputs.begin(), g_.outputs.end(), t) != g_.outputs.end();
  }
  const Node* sole_consumer(const std::string& t) const {
    auto it = readers_.find(t);
    if (is_output(t) || it == readers_.end() || it->second.size() != 1) return nullptr;
    return it->second[0];
  }
  bool computed_before(const std::string& t, const Node& n) const {
    const Node* p = g_.producer(t);
    return p == nullptr || index_.at(p) < index_.at(&n);
  }

  LayerDesc base(const Node& n, LayerKind kind, const std::string& in, const std::string& out) {
    LayerDesc d;
    d.name = n.name;
    d.kind = kind;
    d.batch = batch_;
    const Dims i = dims_of(g_.value(in).shape), o = dims_of(g_.value(out).shape);
    d.c_in = i.c, d.h_in = i.h, d.w_in = i.w;
    d.c_out = o.c, d.h_out = o.h, d.w_out = o.w;
    return d;
  }

  // Converts tensor t into `mode` unless it already is (or was converted before).
  void convert(const std::string& t, Precision mode, int bits) {
    reads_.insert(t);
    const Stored s = stored(t);
    if (s.mode == mode || !reordered_.insert({t, mode}).second) return;
    const Dims d = dims_of(g_.value(t).shape);
    LayerDesc r;
    r.name = "reorder:" + t;
    r.kind = LayerKind::kReorder;
    r.batch = batch_;
    r.c_in = r.c_out = d.c, r.h_in = r.h_out = d.h, r.w_in = r.w_out = d.w;
    r.precision = mode;
    r.abits = s.bits;
    r.obits = bits;
    r.s8_in = s.s8;
    out_.push_back(r);
  }

  // Follows the single-consumer chain after a Conv/Gemm: BN, activations, one residual Add.
  std::string absorb_chain(const Node& n, LayerDesc& d, std::string& residual) {
    std::string t = n.outputs[0];
    bool first = true;
    while (const Node* c = sole_consumer(t)) {
      if (c->op == "BatchNormalization" && first) {
      } else if (is_activation(c->op)) {
      } else if (c->op == "Add" && !d.residual && c->inputs.size() == 2) {
        const std::string& other = c->inputs[0] == t ? c->inputs[1] : c->inputs[0];
        if (g_.is_initializer(other) || !computed_before(other, n) ||
            numel(with_batch(g_.value(other).shape, 1)) != numel(with_batch(g_.value(t).shape, 1)))
          break;
        d.residual = true;
        residual = other;
      } else {
        break;
      }
      absorbed_.insert(c);
      first = false;
      t = c->outputs[0];
    }
    return t;
  }

  LayerPrecision precision_for(const std::string& name) const {
    auto it = per_layer_.find(name);
    LayerPrecision p = it == per_layer_.end() ? fallback_ : it->second;
    const int nat = precision_bits(p.mode);
    if (p.wbits == 0) p.wbits = nat;
    if (p.abits == 0) p.abits = nat;
    for (int b : {p.wbits, p.abits})
      if (b < 1 || b > nat)
        throw UsageError("layer '" + name + "': " + std::to_string(b) + " bits outside 1.." +
                         std::to_string(nat) + " for " + precision_name(p.mode));
    return p;
  }

  void weighted(const Node& n) {
    const Shape& w = g_.value(n.inputs[1]).shape;
    LayerDesc d =
        base(n, n.op == "Gemm" ? LayerKind::kGemm : LayerKind::kConv, n.inputs[0], n.outputs[0]);
    if (n.op == "Gemm") {
      d.c_in = w[1], d.c_out = w[0];
      d.h_in = d.w_in = d.h_out = d.w_out = 1;
    } else {
      d.kh = w[2], d.kw = w[3];
      d.groups = n.i("group", 1);
      d.stride = n.has("strides") ? n.ints("strides")[0] : 1;
      if (d.groups > 1 && d.groups == d.c_in) d.kind = LayerKind::kDepthwise;
      d.taps = mean_taps(n, d);
    }
    if (auto q = int8_input(g_, n)) return lowered_int8(n, d, *q);
    const LayerPrecision p = precision_for(n.name);
    d.precision = p.mode, d.wbits = p.wbits, d.abits = p.abits, d.obits = p.abits;
    std::string residual;
    const std::string out = absorb_chain(n, d, residual);
    convert(n.inputs[0], p.mode, p.abits);
    if (d.residual) convert(residual, p.mode, p.abits);
    out_.push_back(d);
    stored_[out] = {p.mode, p.abits, false};
  }

  // DQ(x_q) -> Conv/Gemm -> post-ops -> [Q]: one int8 layer reading x_q (fusion.cpp's weighted()).
  // The residual is read as r_q when it is DQ(r_q) with zero point 0; the Q is absorbed unless the
  // residual is float (it must be added before the rounding).
  void lowered_int8(const Node& n, LayerDesc& d, const QuantTensor& x) {
    auto it = per_layer_.find(n.name);
    const int nat = precision_bits(Precision::kInt8);
    int wbits = int(n.i("wbits", nat));
    if (it != per_layer_.end() && it->second.mode == Precision::kInt8 && it->second.wbits)
      wbits = it->second.wbits;
    d.precision = Precision::kInt8, d.wbits = wbits, d.abits = nat, d.obits = 32;
    d.s8_in = x.dtype == DType::kInt8;
    std::string residual;
    std::string out = absorb_chain(n, d, residual);
    bool float_residual = false;
    if (d.residual) {
      auto r = dequantized(g_, residual);
      float_residual = !r || r->zero_point != 0;
      if (!float_residual) residual = r->name;
    }
    Stored o{Precision::kFp32, 32, false};
    if (!float_residual)
      if (auto q = quantizes_to(g_, sole_consumer(out)); q && q->zero_point == 0) {
        absorbed_.insert(sole_consumer(out));
        out = q->name, d.obits = nat, d.s8_out = q->dtype == DType::kInt8;
        o = {Precision::kInt8, nat, d.s8_out};
      }
    convert(x.name, Precision::kInt8, nat);
    if (d.residual)
      convert(residual, float_residual ? Precision::kFp32 : Precision::kInt8,
              float_residual ? 32 : nat);
    out_.push_back(d);
    stored_[out] = o;
  }

  // DQ -> MaxPool / AveragePool / GlobalAveragePool / Flatten / Reshape / Concat -> Q, all inputs
  // and the output on one grid: the op runs on the integers (fusion.cpp's integer_through).
  bool integer_through(const Node& n) {
    static const std::set<std::string> kOps{"MaxPool", "AveragePool", "GlobalAveragePool",
                                            "Flatten", "Reshape",     "Concat"};
    if (!kOps.count(n.op)) return false;
    const auto grid = quantizes_to(g_, sole_consumer(n.outputs[0]));
    if (!grid) return false;
    std::vector<std::string> ints;
    const size_t data_inputs = n.op == "Concat" ? n.inputs.size() : 1;
    for (size_t k = 0; k < data_inputs; ++k) {
      auto q = dequantized(g_, n.inputs[k]);
      if (!q || !q->same_grid(*grid)) return false;
      ints.push_back(q->name);
    }
    absorbed_.insert(sole_consumer(n.outputs[0]));
    const Stored o{Precision::kInt8, 8, grid->dtype == DType::kInt8};
    if (n.op == "Flatten" || n.op == "Reshape") {  // a view of the integers
      stored_[grid->name] = o;
      return true;
    }
    LayerDesc d = layer_of(n, ints, o);
    d.s8_in = d.s8_out = o.s8;
    for (const auto& t : ints) convert(t, Precision::kInt8, 8);
    out_.push_back(d);
    stored_[grid->name] = o;
    return true;
  }

  // A QuantizeLinear the evaluator runs on its own, or a DequantizeLinear of an activation (kept
  // only if something reads its float output: drop_unread_dequantize).
  void quant_step(const Node& n) {
    if (g_.is_initializer(n.inputs[0])) return;  // weights: dequantized at compile time
    const Stored s = stored(n.inputs[0]);
    reads_.insert(n.inputs[0]);
    const auto p = quant_params(g_, n);
    const bool s8 = p && p->dtype == DType::kInt8;
    const bool q = n.op == "QuantizeLinear";
    const Dims dm = dims_of(g_.value(n.outputs[0]).shape);
    LayerDesc r;
    r.name = n.name;
    r.kind = LayerKind::kReorder;
    r.batch = batch_;
    r.c_in = r.c_out = dm.c, r.h_in = r.h_out = dm.h, r.w_in = r.w_out = dm.w;
    r.precision = q ? Precision::kInt8 : Precision::kFp32;
    r.abits = s.bits, r.obits = q ? 8 : 32;
    r.s8_in = s.s8, r.s8_out = q && s8;
    r.graph_op = true;
    if (!q) dequantize_at_[n.outputs[0]] = out_.size();
    out_.push_back(r);
    stored_[n.outputs[0]] = q ? Stored{Precision::kInt8, 8, s8} : Stored{};
  }

  std::vector<LayerDesc> drop_unread_dequantize() {
    std::set<size_t> drop;
    for (const auto& [t, k] : dequantize_at_)
      if (!reads_.count(t)) drop.insert(k);
    std::vector<LayerDesc> kept;
    for (size_t k = 0; k < out_.size(); ++k)
      if (!drop.count(k)) kept.push_back(std::move(out_[k]));
    return kept;
  }

  // Activation inputs of n (no initializers), in order.
  std::vector<std::string> activations(const Node& n) const {
    std::vector<std::string> r;
    for (const auto& in : n.inputs)
      if (!in.empty() && !g_.is_initializer(in)) r.push_back(in);
    return r;
  }

  // The description of an unweighted op reading `acts` (kind from its op type), in mode s.
  LayerDesc layer_of(const Node& n, const std::vector<std::string>& acts, const Stored& s) {
    LayerDesc d = base(n, LayerKind::kEltwise, acts[0], n.outputs[0]);
    d.precision = s.mode, d.abits = d.obits = s.bits, d.wbits = 0;
    d.s8_in = d.s8_out = s.mode == Precision::kInt8 && s.s8;
    if (n.op == "BatchNormalization") {
      d.kind = LayerKind::kBatchNorm;
    } else if (n.op == "MaxPool" || n.op == "AveragePool") {
      d.kind = LayerKind::kPool;
      d.kh = n.ints("kernel_shape")[0], d.kw = n.ints("kernel_shape")[1];
      d.stride = n.has("strides") ? n.ints("strides")[0] : 1;
    } else if (n.op == "GlobalAveragePool" || n.op == "ReduceMean") {
      d.kind = LayerKind::kPool;
      d.kh = d.h_in, d.kw = d.w_in, d.stride = d.kh;
    } else if (n.op == "Concat") {
      d.kind = LayerKind::kConcat;
      d.c_in = 0;
      for (const auto& a : acts) d.c_in += dims_of(g_.value(a).shape).c;
    }
    return d;
  }

  void unweighted(const Node& n) {
    const auto acts = activations(n);
    if (acts.empty()) return;  // constant computation: nothing runs at inference
    const Stored s = stored(acts[0]);
    reads_.insert(acts[0]);
    LayerDesc d = layer_of(n, acts, s);
    std::string out = n.outputs[0];
    if (is_binary(n.op)) {
      const int64_t full = numel(with_batch(g_.value(n.outputs[0]).shape, 1));
      d.inputs = 0;
      for (const auto& a : acts) d.inputs += numel(with_batch(g_.value(a).shape, 1)) == full;
      while (const Node* c = sole_consumer(out)) {  // activations become binary post-ops
        if (!is_activation(c->op)) break;
        absorbed_.insert(c);
        out = c->outputs[0];
      }
    }
    for (size_t k = 1; k < acts.size(); ++k) convert(acts[k], s.mode, s.bits);
    out_.push_back(d);
    stored_[out] = s;
  }

  const Graph& g_;
  int64_t batch_;
  const std::map<std::string, LayerPrecision>& per_layer_;
  LayerPrecision fallback_;
  std::unordered_map<const Node*, size_t> index_;
  std::unordered_map<std::string, std::vector<const Node*>> readers_;  // Graph::consumers, once
  std::set<const Node*> absorbed_;
  std::unordered_map<std::string, Stored> stored_;
  std::set<std::pair<std::string, Precision>> reordered_;
  std::set<std::string> reads_;                            // tensors some layer reads
  std::unordered_map<std::string, size_t> dequantize_at_;  // DQ output -> its entry in out_
  std::vector<LayerDesc> out_;
};

}  // namespace

std::vector<LayerDesc> describe(const Graph& g, int64_t batch,
                                const std::map<std::string, LayerPrecision>& per_layer,
                                const LayerPrecision& fallback) {
  if (batch < 1) throw UsageError("batch must be >= 1, got " + std::to_string(batch));
  return Describer(g, batch, per_layer, fallback).run();
}

}  // namespace autocompress
