#include "evaluator/fusion.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "common/error.hpp"

namespace autocompress {

std::optional<Activation> activation_of(const Node& n) {
  using K = Activation::Kind;
  if (n.op == "Relu") return Activation{K::kRelu, 0.f, 0.f};
  if (n.op == "LeakyRelu") return Activation{K::kLeakyRelu, n.f("alpha", 0.01f), 0.f};
  if (n.op == "Clip") {
    return Activation{K::kClip, n.f("min", -INFINITY), n.f("max", INFINITY)};
  }
  if (n.op == "Sigmoid") return Activation{K::kSigmoid, 0.f, 0.f};
  if (n.op == "HardSigmoid") {
    return Activation{K::kHardSigmoid, n.f("alpha", 0.2f), n.f("beta", 0.5f)};
  }
  if (n.op == "HardSwish") return Activation{K::kHardSwish, 0.f, 0.f};
  return std::nullopt;
}

bool QuantParams::symmetric() const {
  return std::all_of(zero_point.begin(), zero_point.end(), [](int64_t z) { return z == 0; });
}

std::optional<QuantParams> quant_params(const Graph& g, const Node& n) {
  if (n.inputs.size() < 2 || !g.is_initializer(n.inputs[1])) return std::nullopt;
  QuantParams p;
  p.scale = g.initializer(n.inputs[1]).f;
  p.axis = n.i("axis", 1);
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    if (!g.is_initializer(n.inputs[2])) return std::nullopt;
    const TensorData& z = g.initializer(n.inputs[2]);
    p.zero_point = z.i;
    p.dtype = z.dtype;
  } else {
    p.zero_point.assign(p.scale.size(), 0);
    p.dtype = n.op == "QuantizeLinear" ? DType::kUInt8 : g.value(n.inputs[0]).dtype;
  }
  if (p.scale.empty() || p.zero_point.size() != p.scale.size()) return std::nullopt;
  return p;
}

std::vector<float> dequantize(const TensorData& q, const QuantParams& p) {
  std::vector<float> out(q.i.size());
  int64_t inner = 1, extent = 1;
  if (!p.per_tensor()) {
    extent = q.shape.at(p.axis);
    for (size_t d = p.axis + 1; d < q.shape.size(); ++d) inner *= q.shape[d];
  }
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t c = p.per_tensor() ? 0 : (k / inner) % extent;
    out[k] = float(q.i[k] - p.zero_point[c]) * p.scale[c];
  }
  return out;
}

namespace {

bool is_int8_type(DType t) { return t == DType::kUInt8 || t == DType::kInt8; }

constexpr int64_t kMinInt8Channels = 4;  // VNNI's int8 dot product: 4 channels per lane

// A constant operand of a layer: an initializer, or DequantizeLinear of one (values dequantized).
// `ints`/`scales`: the per-output-channel int8 form (DQ of an int8 initializer, zero point 0,
// axis 0 or one scale), empty otherwise.
struct Constant {
  std::vector<float> values;
  Shape shape;
  std::vector<float> ints, scales;
};

class Fuser {
 public:
  explicit Fuser(const Graph& g) : g_(g) {
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      const Node& n = g.nodes[k];
      index_[&n] = static_cast<int>(k);
      for (const auto& in : n.inputs)
        if (!in.empty() && (consumers_[in].empty() || consumers_[in].back() != &n))
          consumers_[in].push_back(&n);
      for (const auto& out : n.outputs) producer_[out] = static_cast<int>(k);
    }
    outputs_.insert(g.outputs.begin(), g.outputs.end());
  }

  std::vector<FusedOp> run() {
    std::vector<FusedOp> ops;
    for (const Node& n : g_.nodes) {
      if (absorbed_.count(&n)) continue;
      if (is_flatten_bypass(n) || is_quantized_flatten_bypass(n)) continue;
      FusedOp op;
      op.node = &n;
      op.input = n.inputs.empty() ? "" : n.inputs[0];
      op.output = n.outputs[0];
      if (n.op == "Conv" || n.op == "Gemm") {
        weighted(op);
      } else if (auto sw = swish_at(op.input); n.op == "Sigmoid" && sw.first == &n) {
        op.act = Activation{Activation::kSwish, 1.f, 0.f};
        absorb(op, sw.second);
        op.output = sw.second->outputs[0];
      } else if (auto act = activation_of(n)) {
        op.act = act;
      } else if (n.op == "Add" || n.op == "Sub" || n.op == "Mul" || n.op == "Div") {
        activations(op);
      } else {
        integer_through(op);
      }
      ops.push_back(std::move(op));
    }
    return drop_unread_dequantize(std::move(ops));
  }

 private:
  const Node* sole_consumer(const std::string& t) const {
    if (outputs_.count(t)) return nullptr;
    auto it = consumers_.find(t);
    if (it == consumers_.end() || it->second.size() != 1) return nullptr;
    return it->second[0];
  }

  // (Sigmoid, Mul) when t is read exactly by Sigmoid(t) and Mul(t, Sigmoid(t)).
  std::pair<const Node*, const Node*> swish_at(const std::string& t) const {
    auto it = consumers_.find(t);
    if (t.empty() || outputs_.count(t) || it == consumers_.end() || it->second.size() != 2)
      return {nullptr, nullptr};
    const Node* s = it->second[0]->op == "Sigmoid" ? it->second[0] : it->second[1];
    const Node* m = s == it->second[0] ? it->second[1] : it->second[0];
    if (s->op != "Sigmoid" || m->op != "Mul") return {nullptr, nullptr};
    if (sole_consumer(s->outputs[0]) != m) return {nullptr, nullptr};
    bool pair = (m->inputs[0] == t && m->inputs[1] == s->outputs[0]) ||
                (m->inputs[1] == t && m->inputs[0] == s->outputs[0]);
    return pair ? std::make_pair(s, m) : std::make_pair(nullptr, nullptr);
  }

  const Node* producer_node(const std::string& t) const {
    auto it = producer_.find(t);
    return it == producer_.end() ? nullptr : &g_.nodes[it->second];
  }

  // x_q when t is the output of DequantizeLinear(x_q) of a per-tensor quantized activation.
  std::optional<QuantTensor> dequantized(const std::string& t) const {
    const Node* dq = producer_node(t);
    if (!dq || dq->op != "DequantizeLinear" || g_.is_initializer(dq->inputs[0]))
      return std::nullopt;
    auto p = quant_params(g_, *dq);
    if (!p || !p->per_tensor() || !is_int8_type(p->dtype)) return std::nullopt;
    return QuantTensor{dq->inputs[0], p->scale[0], p->zero_point[0], p->dtype};
  }

  // The QuantizeLinear reading t as its sole consumer, and the grid it quantizes to.
  std::pair<const Node*, std::optional<QuantTensor>> quantized_by(const std::string& t) const {
    const Node* q = sole_consumer(t);
    if (!q || q->op != "QuantizeLinear") return {nullptr, std::nullopt};
    auto p = quant_params(g_, *q);
    if (!p || !p->per_tensor() || !is_int8_type(p->dtype)) return {nullptr, std::nullopt};
    return {q, QuantTensor{q->outputs[0], p->scale[0], p->zero_point[0], p->dtype}};
  }

  Constant constant_of(const std::string& t) const {
    if (g_.is_initializer(t)) return {g_.initializer(t).f, g_.initializer(t).shape, {}, {}};
    const Node* dq = producer_node(t);
    if (!dq || dq->op != "DequantizeLinear" || !g_.is_initializer(dq->inputs[0]))
      throw UnsupportedError(g_.source, dq ? dq->name : t,
                             "a layer's weights or bias must be constant (an initializer or "
                             "DequantizeLinear of one), got tensor '" +
                                 t + "'");
    const TensorData& q = g_.initializer(dq->inputs[0]);
    auto p = quant_params(g_, *dq);
    if (!p) throw UnsupportedError(g_.source, dq->name, "DequantizeLinear without constant scales");
    Constant c{dequantize(q, *p), q.shape, {}, {}};
    const int64_t m = q.shape.empty() ? 0 : q.shape[0];
    if (q.dtype == DType::kInt8 && p->symmetric() &&
        (p->per_tensor() || (p->axis == 0 && int64_t(p->scale.size()) == m))) {
      c.ints.assign(q.i.begin(), q.i.end());
      c.scales = p->per_tensor() ? std::vector<float>(m, p->scale[0]) : p->scale;
    }
    return c;
  }

  void absorb(FusedOp& op, const Node* n) {
    absorbed_.insert(n);
    op.absorbed.push_back(n);
  }

  // Append element-wise activations (and SiLU pairs) that follow op.output.
  bool activation_step(FusedOp& op) {
    if (auto sw = swish_at(op.output); sw.first) {
      absorb(op, sw.first);
      absorb(op, sw.second);
      op.post.push_back({false, Activation{Activation::kSwish, 1.f, 0.f}, "", std::nullopt});
      op.output = sw.second->outputs[0];
      return true;
    }
    const Node* next = sole_consumer(op.output);
    if (!next) return false;
    auto act = activation_of(*next);
    if (!act) return false;
    absorb(op, next);
    op.post.push_back({false, *act, "", std::nullopt});
    op.output = next->outputs[0];
    return true;
  }

  void activations(FusedOp& op) {
    while (activation_step(op)) {
    }
  }

  bool residual_step(FusedOp& op) {
    const Node* next = sole_consumer(op.output);
    if (!next || next->op != "Add") return false;
    for (const auto& p : op.post)
      if (p.is_sum) return false;
    const std::string& other = next->inputs[0] == op.output ? next->inputs[1] : next->inputs[0];
    if (other == op.output || g_.is_initializer(other)) return false;
    if (g_.value(other).shape != g_.value(op.output).shape) return false;
    std::optional<QuantTensor> q = op.int8() ? dequantized(other) : std::nullopt;
    if (q && q->zero_point != 0) q.reset();
    const std::string& read = q ? q->name : other;
    auto pit = producer_.find(read);
    if (pit != producer_.end() && pit->second >= index_.at(op.node)) return false;
    absorb(op, next);
    op.post.push_back({true, {}, read, q});
    op.output = next->outputs[0];
    return true;
  }

  bool batchnorm_step(FusedOp& op) {
    const Node* bn = sole_consumer(op.output);
    if (!op.post.empty() || !bn || bn->op != "BatchNormalization") return false;
    for (size_t k = 1; k < 5; ++k)
      if (!g_.is_initializer(bn->inputs[k])) return false;
    const auto& gamma = g_.initializer(bn->inputs[1]).f;
    const auto& beta = g_.initializer(bn->inputs[2]).f;
    const auto& mean = g_.initializer(bn->inputs[3]).f;
    const auto& var = g_.initializer(bn->inputs[4]).f;
    const double eps = bn->f("epsilon", 1e-5f);
    const size_t m = op.bias.size(), per = op.weights.size() / m;
    if (gamma.size() != m) return false;
    for (size_t o = 0; o < m; ++o) {
      const double s = gamma[o] / std::sqrt(static_cast<double>(var[o]) + eps);
      if (op.int8())  // integer weights stay; the channel's scale takes the factor
        op.weight_scales[o] = float(op.weight_scales[o] * s);
      else
        for (size_t k = 0; k < per; ++k)
          op.weights[o * per + k] = float(op.weights[o * per + k] * s);
      op.bias[o] = float((op.bias[o] - double(mean[o])) * s + beta[o]);
    }
    absorb(op, bn);
    op.output = bn->outputs[0];
    return true;
  }

  // The int8 input of a Conv/Gemm: DQ(x_q) with zero point 0 and int8 per-channel weights.
  // A dense Conv with fewer than 4 input channels (an RGB or grey stem) runs in float instead:
  // VNNI multiplies groups of 4 int8 channels, so most lanes would be padding (the example
  // model's stem: 14 ms in int8 vs 2.7 ms in fp32 at batch 256). Same numbers as the float
  // simulation, and its QuantizeLinear becomes a reorder.
  std::optional<QuantTensor> int8_input(const Node& n, const Constant& w) const {
    auto q = dequantized(n.inputs[0]);
    if (!q || q->zero_point != 0 || w.ints.empty()) return std::nullopt;
    if (n.op == "Conv" && n.i("group", 1) == 1 && w.shape.at(1) < kMinInt8Channels)
      return std::nullopt;
    return q;
  }

  void weighted(FusedOp& op) {
    const Node& n = *op.node;
    const Constant w = constant_of(n.inputs[1]);
    op.weight_shape = w.shape;
    const int64_t m = w.shape[0];
    if (auto q = int8_input(n, w)) {
      op.qin = {*q};
      op.weights = w.ints;
      op.weight_scales = w.scales;
    } else {
      op.weights = w.values;
    }
    if (n.inputs.size() > 2 && !n.inputs[2].empty())
      op.bias = constant_of(n.inputs[2]).values;
    else
      op.bias.assign(m, 0.f);
    if (n.op == "Gemm") gemm_bypass(op, m);
    batchnorm_step(op);
    while (activation_step(op) || residual_step(op)) {
    }
    quantize_step(op);
  }

  // A Gemm after a bypassed Flatten reads the 4-D tensor, its weights viewed as [M, C, H, W].
  void gemm_bypass(FusedOp& op, int64_t m) {
    std::string four_d;
    if (!op.qin.empty()) {
      auto it = qbypass_.find(op.qin[0].name);
      if (it == qbypass_.end()) return;
      op.qin[0] = it->second;
      four_d = it->second.name;
    } else {
      auto it = bypass_.find(op.input);
      if (it == bypass_.end()) return;
      op.input = four_d = it->second;
    }
    const Shape& s = g_.value(four_d).shape;
    op.weight_shape = {m, s[1], s[2], s[3]};
  }

  // y_q = QuantizeLinear(y) fused into an int8 layer (per tensor, zero point 0); not after a float
  // residual, which must be added before the rounding.
  void quantize_step(FusedOp& op) {
    if (!op.int8()) return;
    for (const auto& p : op.post)
      if (p.is_sum && !p.qresidual) return;
    auto [q, grid] = quantized_by(op.output);
    if (!q || grid->zero_point != 0) return;
    absorb(op, q);
    op.qout = grid;
    op.output = q->outputs[0];
  }

  // DQ -> pooling / Flatten / Reshape / Concat -> Q, all on one grid: the op runs on integers.
  void integer_through(FusedOp& op) {
    const Node& n = *op.node;
    static const std::set<std::string> kOps{"MaxPool", "AveragePool", "GlobalAveragePool",
                                            "Flatten", "Reshape",     "Concat"};
    if (!kOps.count(n.op)) return;
    std::vector<QuantTensor> qs;
    const size_t data_inputs = n.op == "Concat" ? n.inputs.size() : 1;
    for (size_t k = 0; k < data_inputs; ++k) {
      auto q = dequantized(n.inputs[k]);
      if (!q) return;
      qs.push_back(*q);
    }
    auto [qn, grid] = quantized_by(op.output);
    if (!qn) return;
    for (const auto& q : qs)
      if (!q.same_grid(*grid)) return;
    op.qin = qs;
    op.qout = grid;
    absorb(op, qn);
    op.output = qn->outputs[0];
  }

  // A Flatten(axis 1) / Reshape to [N, C*H*W] of a 4-D tensor.
  bool flattens_4d(const Node& n) const {
    if (n.op != "Flatten" && n.op != "Reshape") return false;
    const Shape& in = g_.value(n.inputs[0]).shape;
    const Shape& out = g_.value(n.outputs[0]).shape;
    if (in.size() != 4 || out.size() != 2 || in[0] != kBatch || out[0] != kBatch) return false;
    return out[1] == in[1] * in[2] * in[3] && !outputs_.count(n.outputs[0]);
  }

  // Every reader of t is a Gemm reading it as its data input (and, with `int8`, in int8).
  bool only_gemms_read(const std::string& t, bool int8) const {
    auto it = consumers_.find(t);
    if (it == consumers_.end() || outputs_.count(t)) return false;
    for (const Node* c : it->second) {
      if (c->op != "Gemm" || c->inputs[0] != t) return false;
      if (int8 && !int8_input(*c, constant_of(c->inputs[1]))) return false;
    }
    return true;
  }

  // A flattening of a 4-D tensor read only by Gemms.
  bool is_flatten_bypass(const Node& n) {
    if (!flattens_4d(n) || !only_gemms_read(n.outputs[0], false)) return false;
    bypass_[n.outputs[0]] = n.inputs[0];
    return true;
  }

  // DQ(p_q) -> Flatten -> Q (same grid) -> DQ -> int8 Gemms only: the Gemms read p_q.
  bool is_quantized_flatten_bypass(const Node& n) {
    if (!flattens_4d(n)) return false;
    auto qx = dequantized(n.inputs[0]);
    auto [qn, grid] = quantized_by(n.outputs[0]);
    if (!qx || !qn || !grid->same_grid(*qx)) return false;
    const Node* dq = sole_consumer(grid->name);
    if (!dq || dq->op != "DequantizeLinear" || !only_gemms_read(dq->outputs[0], true)) return false;
    qbypass_[grid->name] = *qx;
    absorbed_.insert(qn);
    return true;
  }

  // The activation tensors an op reads when it runs (weights and biases are compiled in).
  std::vector<std::string> reads_of(const FusedOp& op) const {
    std::vector<std::string> r;
    if (op.node->op == "Conv" || op.node->op == "Gemm") {
      r.push_back(op.qin.empty() ? op.input : op.qin[0].name);
      for (const auto& p : op.post)
        if (p.is_sum) r.push_back(p.residual);
      return r;
    }
    for (const auto& q : op.qin) r.push_back(q.name);
    if (!r.empty()) return r;
    std::set<std::string> internal(op.node->outputs.begin(), op.node->outputs.end());
    for (const Node* a : op.absorbed) internal.insert(a->outputs.begin(), a->outputs.end());
    auto add = [&](const Node* n) {
      for (const auto& in : n->inputs)
        if (!in.empty() && !g_.is_initializer(in) && !internal.count(in)) r.push_back(in);
    };
    add(op.node);
    for (const Node* a : op.absorbed) add(a);
    return r;
  }

  // Fills FusedOp::reads and drops the DequantizeLinear ops whose output nobody reads as float.
  std::vector<FusedOp> drop_unread_dequantize(std::vector<FusedOp> ops) const {
    std::set<std::string> read(outputs_.begin(), outputs_.end());
    for (auto& op : ops) {
      op.reads = reads_of(op);
      read.insert(op.reads.begin(), op.reads.end());
    }
    std::vector<FusedOp> kept;
    for (auto& op : ops)
      if (op.node->op != "DequantizeLinear" || read.count(op.output)) kept.push_back(std::move(op));
    return kept;
  }

  const Graph& g_;
  std::unordered_map<const Node*, int> index_;
  std::unordered_map<std::string, std::vector<const Node*>> consumers_;
  std::unordered_map<std::string, int> producer_;
  std::set<std::string> outputs_;
  std::set<const Node*> absorbed_;
  std::unordered_map<std::string, std::string> bypass_;
  std::unordered_map<std::string, QuantTensor> qbypass_;  // Q output -> the 4-D integer tensor
};

}  // namespace

std::vector<FusedOp> fuse(const Graph& g) { return Fuser(g).run(); }

}  // namespace autocompress
