#include "model/graph.hpp"

#include <stdexcept>

#include "common/error.hpp"

namespace autocompress {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat: return "float32";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
    case DType::kFloat16: return "float16";
    case DType::kDouble: return "float64";
    case DType::kBFloat16: return "bfloat16";
    default: return "undefined";
  }
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw std::invalid_argument("numel of a shape with a symbolic dimension");
    n *= d;
  }
  return n;
}

Shape with_batch(const Shape& s, int64_t batch) {
  Shape r = s;
  for (auto& d : r)
    if (d == kBatch) d = batch;
  return r;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t k = 0; k < s.size(); ++k) {
    if (k) r += ",";
    r += s[k] == kBatch ? "N" : std::to_string(s[k]);
  }
  return r + "]";
}

namespace {
template <class T>
const T& get_attr(const Node& n, const std::string& key, const char* type) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end())
    throw ModelError("", n.name, "missing attribute '" + key + "' (" + n.op + ")");
  const T* v = std::get_if<T>(&it->second);
  if (!v)
    throw ModelError("", n.name, "attribute '" + key + "' of " + n.op + " must be " + type);
  return *v;
}
}  // namespace

int64_t Node::i(const std::string& key, int64_t def) const { return has(key) ? i(key) : def; }
int64_t Node::i(const std::string& key) const { return get_attr<int64_t>(*this, key, "an int"); }
float Node::f(const std::string& key, float def) const { return has(key) ? f(key) : def; }
float Node::f(const std::string& key) const { return get_attr<float>(*this, key, "a float"); }
const std::vector<int64_t>& Node::ints(const std::string& key) const {
  return get_attr<std::vector<int64_t>>(*this, key, "a list of ints");
}

const ValueInfo& Graph::value(const std::string& t) const {
  auto it = values.find(t);
  if (it == values.end()) throw ModelError(source, "", "unknown tensor '" + t + "'");
  return it->second;
}

const TensorData& Graph::initializer(const std::string& t) const {
  auto it = initializers.find(t);
  if (it == initializers.end())
    throw ModelError(source, "", "tensor '" + t + "' is not an initializer (weight)");
  return it->second;
}

const Node* Graph::producer(const std::string& t) const {
  for (const auto& n : nodes)
    for (const auto& o : n.outputs)
      if (o == t) return &n;
  return nullptr;
}

std::vector<const Node*> Graph::consumers(const std::string& t) const {
  std::vector<const Node*> r;
  for (const auto& n : nodes)
    for (const auto& in : n.inputs)
      if (in == t) {
        r.push_back(&n);
        break;
      }
  return r;
}

const Node* Graph::find_node(const std::string& name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

int64_t node_macs(const Graph& g, const Node& n) {
  if (n.op == "Conv") {
    const Shape& w = g.value(n.inputs[1]).shape;  // [M, C/g, kH, kW]
    const Shape& y = g.value(n.outputs[0]).shape;  // [N, M, OH, OW]
    return numel(w) * y[2] * y[3];
  }
  if (n.op == "Gemm") return numel(g.value(n.inputs[1]).shape);
  return 0;
}

std::vector<LayerInfo> weighted_layers(const Graph& g) {
  std::vector<LayerInfo> r;
  for (const auto& n : g.nodes) {
    if (n.op != "Conv" && n.op != "Gemm") continue;
    LayerInfo l;
    l.name = n.name;
    l.op = n.op;
    l.input = g.value(n.inputs[0]).shape;
    l.output = g.value(n.outputs[0]).shape;
    l.params = numel(g.value(n.inputs[1]).shape);
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) l.params += numel(g.value(n.inputs[2]).shape);
    l.macs = node_macs(g, n);
    r.push_back(std::move(l));
  }
  return r;
}

}  // namespace autocompress
