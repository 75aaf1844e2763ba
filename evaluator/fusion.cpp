#include "evaluator/fusion.hpp"

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

namespace {

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
      if (is_flatten_bypass(n)) continue;
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
      }
      ops.push_back(std::move(op));
    }
    return ops;
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

  void absorb(FusedOp& op, const Node* n) {
    absorbed_.insert(n);
    op.absorbed.push_back(n);
  }

  // Append element-wise activations (and SiLU pairs) that follow op.output.
  bool activation_step(FusedOp& op) {
    if (auto sw = swish_at(op.output); sw.first) {
      absorb(op, sw.first);
      absorb(op, sw.second);
      op.post.push_back({false, Activation{Activation::kSwish, 1.f, 0.f}, ""});
      op.output = sw.second->outputs[0];
      return true;
    }
    const Node* next = sole_consumer(op.output);
    if (!next) return false;
    auto act = activation_of(*next);
    if (!act) return false;
    absorb(op, next);
    op.post.push_back({false, *act, ""});
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
    auto pit = producer_.find(other);
    if (pit != producer_.end() && pit->second >= index_.at(op.node)) return false;
    absorb(op, next);
    op.post.push_back({true, {}, other});
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
      for (size_t k = 0; k < per; ++k) op.weights[o * per + k] = float(op.weights[o * per + k] * s);
      op.bias[o] = float((op.bias[o] - double(mean[o])) * s + beta[o]);
    }
    absorb(op, bn);
    op.output = bn->outputs[0];
    return true;
  }

  void weighted(FusedOp& op) {
    const Node& n = *op.node;
    const TensorData& w = g_.initializer(n.inputs[1]);
    op.weights = w.f;
    op.weight_shape = w.shape;
    const int64_t m = w.shape[0];
    if (n.inputs.size() > 2 && !n.inputs[2].empty())
      op.bias = g_.initializer(n.inputs[2]).f;
    else
      op.bias.assign(m, 0.f);
    if (n.op == "Gemm") {
      auto it = bypass_.find(op.input);
      if (it != bypass_.end()) {
        op.input = it->second;
        const Shape& s = g_.value(op.input).shape;
        op.weight_shape = {m, s[1], s[2], s[3]};
      }
    }
    batchnorm_step(op);
    while (activation_step(op) || residual_step(op)) {
    }
  }

  // A Flatten(axis 1) / Reshape to [N, C*H*W] of a 4-D tensor read only by Gemms.
  bool is_flatten_bypass(const Node& n) {
    if (n.op != "Flatten" && n.op != "Reshape") return false;
    const Shape& in = g_.value(n.inputs[0]).shape;
    const Shape& out = g_.value(n.outputs[0]).shape;
    if (in.size() != 4 || out.size() != 2 || in[0] != kBatch || out[0] != kBatch) return false;
    if (out[1] != in[1] * in[2] * in[3] || outputs_.count(n.outputs[0])) return false;
    auto it = consumers_.find(n.outputs[0]);
    if (it == consumers_.end()) return false;
    for (const Node* c : it->second)
      if (c->op != "Gemm" || c->inputs[0] != n.outputs[0]) return false;
    bypass_[n.outputs[0]] = n.inputs[0];
    return true;
  }

  const Graph& g_;
  std::unordered_map<const Node*, int> index_;
  std::unordered_map<std::string, std::vector<const Node*>> consumers_;
  std::unordered_map<std::string, int> producer_;
  std::set<std::string> outputs_;
  std::set<const Node*> absorbed_;
  std::unordered_map<std::string, std::string> bypass_;
};

}  // namespace

std::vector<FusedOp> fuse(const Graph& g) { return Fuser(g).run(); }

}  // namespace autocompress
