#include "model/onnx_context.hpp"

#include <algorithm>

#include "model/onnx_tensor.hpp"

namespace autocompress::onnx_loader {

bool has_sentinel(const TensorData& t) {
  return std::find(t.i.begin(), t.i.end(), kBatchSentinel) != t.i.end();
}

std::string display_name(const onnx::NodeProto& p, size_t index) {
  return p.name().empty() ? p.op_type() + "#" + std::to_string(index) : p.name();
}

const TensorData& LoadContext::need_const(const onnx::NodeProto& p, int k,
                                          const std::string& role) const {
  std::string t = in(p, k);
  const TensorData* c = constant(t);
  if (!c)
    unsupported(
        p.op_type() + " " + role + " '" + t +
        "' must be an initializer or constant; it is computed at run time or a graph input");
  return *c;
}

std::vector<int64_t> LoadContext::const_ints(const onnx::NodeProto& p, int k,
                                             const std::string& role) const {
  const TensorData& c = need_const(p, k, role);
  if (c.is_float()) malformed(role + " '" + in(p, k) + "' must be an integer tensor");
  if (has_sentinel(c))
    unsupported(role + " '" + in(p, k) +
                "' depends on the batch size, which is chosen at run time");
  return c.i;
}

float LoadContext::const_scalar(const onnx::NodeProto& p, int k, const std::string& role) const {
  const TensorData& c = need_const(p, k, role);
  if (c.size() != 1)
    malformed(role + " '" + in(p, k) + "' must be a scalar, got " + shape_str(c.shape));
  return static_cast<float>(value_at(c, 0));
}

const Shape& LoadContext::shape_of(const std::string& t) const {
  if (const TensorData* c = constant(t)) return c->shape;
  auto it = g.values.find(t);
  if (it == g.values.end()) malformed("input '" + t + "' has no known shape");
  return it->second.shape;
}

std::string LoadContext::activation(const onnx::NodeProto& p, int k) const {
  std::string r = in(p, k);
  if (r.empty()) malformed(p.op_type() + " needs input " + std::to_string(k));
  return r;
}

// Registers the constant inputs as initializers, infers and records the output shapes.
void LoadContext::emit(Node n, bool named) {
  for (const auto& t : n.inputs)
    if (const TensorData* c = constant(t); c && !g.initializers.count(t)) {
      g.initializers[t] = as_float32(*c);
      const TensorData& w = g.initializers[t];
      g.values[t] = ValueInfo{t, w.dtype, w.shape};
    }
  n.name = cur_name;
  auto shapes = infer_node_shapes(g, n);
  const DType type = node_output_dtype(g, n);
  for (size_t k = 0; k < n.outputs.size(); ++k) {
    g.values[n.outputs[k]] = ValueInfo{n.outputs[k], type, shapes.at(k)};
    producer[n.outputs[k]] = nodes.size();
  }
  nodes.push_back(std::move(n));
  onnx_names.push_back(cur && named ? cur->name() : std::string());
}

void LoadContext::rename_tensor(const std::string& from, const std::string& to) {
  for (auto& n : nodes) {
    for (auto& t : n.inputs)
      if (t == from) t = to;
    for (auto& t : n.outputs)
      if (t == from) t = to;
  }
  auto v = g.values.extract(from);
  v.key() = to;
  v.mapped().name = to;
  g.values.insert(std::move(v));
  auto pr = producer.extract(from);
  if (!pr.empty()) {
    pr.key() = to;
    producer.insert(std::move(pr));
  }
}

std::vector<int64_t> LoadContext::axes_of(const onnx::NodeProto& p, int input, int64_t rank,
                                          bool required) const {
  Attrs a(p);
  std::vector<int64_t> axes;
  if (a.has("axes"))
    axes = a.ints("axes");
  else if (!in(p, input).empty())
    axes = const_ints(p, input, "axes");
  else if (required)
    malformed("missing axes");
  for (auto& ax : axes) {
    if (ax < -rank || ax >= rank)
      malformed("axis " + std::to_string(ax) + " out of range for rank " + std::to_string(rank));
    if (ax < 0) ax += rank;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) malformed("repeated axes");
  return axes;
}
}  // namespace autocompress::onnx_loader
