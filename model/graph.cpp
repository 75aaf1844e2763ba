#include "model/graph.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

#include "common/error.hpp"

namespace autocompress {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat:
      return "float32";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt8:
      return "int8";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kBool:
      return "bool";
    case DType::kFloat16:
      return "float16";
    case DType::kDouble:
      return "float64";
    case DType::kBFloat16:
      return "bfloat16";
    default:
      return "undefined";
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
  if (!v) throw ModelError("", n.name, "attribute '" + key + "' of " + n.op + " must be " + type);
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
    const Shape& w = g.value(n.inputs[1]).shape;   // [M, C/g, kH, kW]
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

// ---- shape inference of canonical ops ----

std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    int64_t x = k + a.size() >= r ? a[k + a.size() - r] : 1;
    int64_t y = k + b.size() >= r ? b[k + b.size() - r] : 1;
    if (x == y || y == 1)
      out[k] = x;
    else if (x == 1)
      out[k] = y;
    else
      return std::nullopt;
  }
  return out;
}

namespace {

class ShapeInference {
 public:
  ShapeInference(const Graph& g, const Node& n) : g_(g), n_(n) {}

  std::vector<Shape> run() {
    const std::string& op = n_.op;
    if (op != "DequantizeLinear" && op != "QuantizeLinear") require_float_activations();
    if (op == "Relu" || op == "Sigmoid" || op == "HardSwish" || op == "Clip" || op == "LeakyRelu" ||
        op == "HardSigmoid")
      return {in(0)};
    if (op == "Conv") return {conv()};
    if (op == "Gemm") return {gemm()};
    if (op == "BatchNormalization") return {batch_norm()};
    if (op == "MaxPool" || op == "AveragePool") return {pool()};
    if (op == "GlobalAveragePool") return {global_pool()};
    if (op == "ReduceMean") return {reduce_mean()};
    if (op == "Pad") return {pad()};
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return {broadcast()};
    if (op == "Concat") return {concat()};
    if (op == "Flatten") return {flatten()};
    if (op == "Reshape") return {reshape()};
    if (op == "Transpose") return {transpose()};
    if (op == "Softmax") return {softmax()};
    if (op == "QuantizeLinear" || op == "DequantizeLinear") return {quantize_linear()};
    throw ModelError(g_.source, n_.name, "op '" + op + "' is not a canonical op");
  }

 private:
  const Graph& g_;
  const Node& n_;

  // Integer activations (graph inputs, QuantizeLinear outputs) are read only by
  // DequantizeLinear.
  void require_float_activations() const {
    for (const auto& t : n_.inputs) {
      auto it = g_.values.find(t);
      if (t.empty() || g_.is_initializer(t) || it == g_.values.end()) continue;
      if (it->second.dtype != DType::kFloat)
        unsupported(n_.op + " reads the " + dtype_name(it->second.dtype) + " tensor '" + t +
                    "'; integer tensors are read only by DequantizeLinear");
    }
  }
  [[noreturn]] void bad(const std::string& what) const {
    throw ModelError(g_.source, n_.name, what);
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw UnsupportedError(g_.source, n_.name, what);
  }
  bool present(size_t k) const { return n_.inputs.size() > k && !n_.inputs[k].empty(); }
  const Shape& in(size_t k) const {
    if (!present(k)) bad(n_.op + " needs input " + std::to_string(k));
    auto it = g_.values.find(n_.inputs[k]);
    if (it == g_.values.end()) bad("input '" + n_.inputs[k] + "' has no known shape");
    return it->second.shape;
  }
  const Shape& in_rank(size_t k, size_t rank, const char* what) const {
    const Shape& s = in(k);
    if (s.size() != rank)
      bad(std::string(what) + " '" + n_.inputs[k] + "' must be " + std::to_string(rank) +
          "-D, got " + shape_str(s));
    return s;
  }
  std::vector<int64_t> ints(const std::string& key, size_t size) const {
    const auto& v = n_.ints(key);
    if (v.size() != size)
      bad("attribute '" + key + "' must have " + std::to_string(size) + " values, got " +
          std::to_string(v.size()));
    return v;
  }
  static bool batched(const Shape& s) { return !s.empty() && s[0] == kBatch; }

  // floor((in + pads - dilated kernel) / stride) + 1, or ceil with the rule of PyTorch and ONNX
  // Runtime that the last window must start inside the input or the left padding.
  int64_t window_out(int64_t len, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                     bool ceil_mode) const {
    if (k < 1 || s < 1 || d < 1) bad("kernel, strides and dilations must be positive");
    int64_t span = len + pb + pe - ((k - 1) * d + 1);
    if (span < 0)
      bad("window of " + std::to_string(k) + " (dilation " + std::to_string(d) +
          ") does not fit the input of " + std::to_string(len) + " plus padding");
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= len + pb) --out;
    return out;
  }

  Shape conv() const {
    const Shape& x = in_rank(0, 4, "Conv input");
    const Shape& w = in_rank(1, 4, "Conv weight");
    int64_t group = n_.i("group", 1);
    if (group < 1 || w[0] % group != 0)
      bad("group " + std::to_string(group) + " does not divide the " + std::to_string(w[0]) +
          " output channels");
    if (x[1] != w[1] * group)
      bad("input has " + std::to_string(x[1]) + " channels, weight expects " +
          std::to_string(w[1]) + " x group " + std::to_string(group));
    if (present(2) && in(2) != Shape{w[0]})
      bad("bias has shape " + shape_str(in(2)) + ", expected [" + std::to_string(w[0]) + "]");
    auto s = ints("strides", 2), p = ints("pads", 4), d = ints("dilations", 2);
    return {x[0], w[0], window_out(x[2], w[2], s[0], d[0], p[0], p[2], false),
            window_out(x[3], w[3], s[1], d[1], p[1], p[3], false)};
  }

  Shape gemm() const {
    const Shape& x = in_rank(0, 2, "Gemm input");
    const Shape& w = in_rank(1, 2, "Gemm weight");
    if (x[1] != w[1])
      bad("input has " + std::to_string(x[1]) + " features, weight " + shape_str(w) + " expects " +
          std::to_string(w[1]));
    if (present(2) && in(2) != Shape{w[0]})
      bad("bias has shape " + shape_str(in(2)) + ", expected [" + std::to_string(w[0]) + "]");
    return {x[0], w[0]};
  }

  Shape batch_norm() const {
    const Shape& x = in(0);
    if (x.size() < 2)
      bad("BatchNormalization input must have a channel dimension, got " + shape_str(x));
    static const char* names[] = {"scale", "B", "mean", "var"};
    for (size_t k = 1; k <= 4; ++k)
      if (in(k) != Shape{x[1]})
        bad(std::string("BatchNormalization ") + names[k - 1] + " has shape " + shape_str(in(k)) +
            ", expected [" + std::to_string(x[1]) + "] (the input's channels)");
    return x;
  }

  Shape pool() const {
    const Shape& x = in_rank(0, 4, n_.op == "MaxPool" ? "MaxPool input" : "AveragePool input");
    auto k = ints("kernel_shape", 2), s = ints("strides", 2), p = ints("pads", 4);
    auto d = n_.has("dilations") ? ints("dilations", 2) : std::vector<int64_t>{1, 1};
    bool ceil_mode = n_.i("ceil_mode", 0) != 0;
    return {x[0], x[1], window_out(x[2], k[0], s[0], d[0], p[0], p[2], ceil_mode),
            window_out(x[3], k[1], s[1], d[1], p[1], p[3], ceil_mode)};
  }

  Shape global_pool() const {
    const Shape& x = in_rank(0, 4, "GlobalAveragePool input");
    return {x[0], x[1], 1, 1};
  }

  Shape reduce_mean() const {
    const Shape& x = in(0);
    bool keep = n_.i("keepdims", 1) != 0;
    std::vector<bool> reduced(x.size(), false);
    for (int64_t a : n_.ints("axes")) {
      if (a < 0 || a >= static_cast<int64_t>(x.size()))
        bad("axis " + std::to_string(a) + " out of range for " + shape_str(x));
      reduced[a] = true;
    }
    if (batched(x) && reduced[0]) unsupported("ReduceMean over the batch dimension");
    Shape out;
    for (size_t k = 0; k < x.size(); ++k)
      if (!reduced[k])
        out.push_back(x[k]);
      else if (keep)
        out.push_back(1);
    return out;
  }

  Shape pad() const {
    const Shape& x = in(0);
    auto p = ints("pads", 2 * x.size());
    Shape out = x;
    for (size_t k = 0; k < x.size(); ++k) {
      if (x[k] == kBatch) {
        if (p[k] != 0 || p[k + x.size()] != 0) unsupported("Pad of the batch dimension");
        continue;
      }
      out[k] = x[k] + p[k] + p[k + x.size()];
      if (out[k] < 0) bad("pads " + shape_str(p) + " remove more than " + shape_str(x));
    }
    return out;
  }

  Shape broadcast() const {
    const Shape& a = in(0);
    const Shape& b = in(1);
    auto out = broadcast_shapes(a, b);
    if (!out) {
      size_t r = std::max(a.size(), b.size());
      bool batch_clash = (batched(a) && a.size() == r) || (batched(b) && b.size() == r);
      if (batch_clash && a.size() == b.size() && (a[0] == kBatch) != (b[0] == kBatch))
        unsupported(n_.op + " broadcasts the batch dimension of " + shape_str(a) + " and " +
                    shape_str(b) + " against a fixed size");
      bad(n_.op + " inputs " + shape_str(a) + " ('" + n_.inputs[0] + "') and " + shape_str(b) +
          " ('" + n_.inputs[1] + "') are not broadcast-compatible");
    }
    for (size_t k = 1; k < out->size(); ++k)
      if ((*out)[k] == kBatch)
        unsupported(n_.op + " of " + shape_str(a) + " and " + shape_str(b) +
                    " moves the batch dimension away from dim 0");
    return *out;
  }

  Shape concat() const {
    Shape out = in(0);
    int64_t axis = n_.i("axis");
    if (axis < 0 || axis >= static_cast<int64_t>(out.size()))
      bad("axis " + std::to_string(axis) + " out of range for " + shape_str(out));
    if (out[axis] == kBatch) unsupported("Concat along the batch dimension");
    for (size_t k = 1; k < n_.inputs.size(); ++k) {
      const Shape& s = in(k);
      bool ok = s.size() == out.size();
      for (size_t d = 0; ok && d < s.size(); ++d)
        ok = d == static_cast<size_t>(axis) || s[d] == out[d];
      if (!ok || s[axis] == kBatch)
        bad("Concat inputs " + shape_str(in(0)) + " and " + shape_str(s) + " differ outside axis " +
            std::to_string(axis));
      out[axis] += s[axis];
    }
    return out;
  }

  Shape flatten() const {
    const Shape& x = in(0);
    int64_t axis = n_.i("axis");
    if (axis < 0 || axis > static_cast<int64_t>(x.size()))
      bad("axis " + std::to_string(axis) + " out of range for " + shape_str(x));
    Shape head(x.begin(), x.begin() + axis), tail(x.begin() + axis, x.end());
    if (batched(tail)) unsupported("Flatten at axis 0 mixes the batch with the other dimensions");
    int64_t h = 1;
    for (size_t k = batched(head) ? 1 : 0; k < head.size(); ++k) h *= head[k];
    if (batched(head) && h != 1)
      unsupported("Flatten at axis " + std::to_string(axis) + " of " + shape_str(x) +
                  " mixes the batch with the other dimensions");
    return {batched(head) ? kBatch : h, numel(tail)};
  }

  Shape reshape() const {
    const Shape& x = in(0);
    const auto& out = n_.ints("shape");
    for (size_t k = 0; k < out.size(); ++k)
      if (out[k] < 0 && !(k == 0 && out[k] == kBatch))
        bad("shape " + shape_str(out) + " is not resolved");
    if (batched(x) != batched(out))
      unsupported("Reshape of " + shape_str(x) + " to " + shape_str(out) +
                  " mixes the batch with the other dimensions");
    Shape xr(x.begin() + (batched(x) ? 1 : 0), x.end()),
        yr(out.begin() + (batched(out) ? 1 : 0), out.end());
    if (numel(xr) != numel(yr))
      bad("cannot reshape " + shape_str(x) + " to " + shape_str(out) + " (element counts differ)");
    return out;
  }

  Shape transpose() const {
    const Shape& x = in(0);
    const auto& perm = n_.ints("perm");
    if (perm.size() != x.size()) bad("perm " + shape_str(perm) + " does not match " + shape_str(x));
    Shape out(x.size());
    std::vector<bool> seen(x.size(), false);
    for (size_t k = 0; k < perm.size(); ++k) {
      if (perm[k] < 0 || perm[k] >= static_cast<int64_t>(x.size()) || seen[perm[k]])
        bad("perm " + shape_str(perm) + " is not a permutation");
      seen[perm[k]] = true;
      out[k] = x[perm[k]];
    }
    if (batched(x) && perm[0] != 0) unsupported("Transpose moves the batch dimension");
    return out;
  }

  // QuantizeLinear / DequantizeLinear: Y has X's shape. The scale (and zero point) must be
  // initializers: a scalar (or [1]) for one grid, or [C] along `axis` with C = X's extent there.
  Shape quantize_linear() const {
    const Shape& x = in(0);
    const bool q = n_.op == "QuantizeLinear";
    const TensorData& scale = constant_input(1, q ? "y_scale" : "x_scale");
    if (scale.dtype != DType::kFloat)
      bad("scale '" + n_.inputs[1] + "' must be float32, got " + dtype_name(scale.dtype));
    for (float s : scale.f)
      if (!std::isfinite(s) || (q && s == 0))
        bad("scale '" + n_.inputs[1] + "' holds " + std::to_string(s) + "; scales must be finite" +
            (q ? " and non-zero" : ""));
    const bool per_axis = scale.shape.size() == 1 && scale.shape[0] != 1;
    if (scale.shape.size() > 1)
      bad("scale '" + n_.inputs[1] + "' must be a scalar or 1-D, got " + shape_str(scale.shape));
    if (per_axis) check_quant_axis(x, scale.shape[0]);
    const DType xt = input_dtype(0);
    if (q && xt != DType::kFloat)
      bad("input '" + n_.inputs[0] + "' must be float32, got " + dtype_name(xt));
    if (!q && xt != DType::kUInt8 && xt != DType::kInt8 && xt != DType::kInt32)
      bad("input '" + n_.inputs[0] + "' must be uint8, int8 or int32, got " + dtype_name(xt));
    if (present(2)) check_zero_point(constant_input(2, q ? "y_zero_point" : "x_zero_point"), scale);
    return x;
  }
  void check_quant_axis(const Shape& x, int64_t channels) const {
    const int64_t axis = n_.i("axis", 1);
    if (axis < 0 || axis >= static_cast<int64_t>(x.size()))
      bad("axis " + std::to_string(axis) + " out of range for " + shape_str(x));
    if (x[axis] == kBatch) unsupported(n_.op + " with one scale per batch element");
    if (x[axis] != channels)
      bad("scale '" + n_.inputs[1] + "' has " + std::to_string(channels) + " values, but axis " +
          std::to_string(axis) + " of " + shape_str(x) + " has " + std::to_string(x[axis]));
  }
  void check_zero_point(const TensorData& zp, const TensorData& scale) const {
    if (zp.shape != scale.shape && !(zp.size() == 1 && scale.size() == 1))
      bad("zero point '" + n_.inputs[2] + "' has shape " + shape_str(zp.shape) + ", its scale " +
          shape_str(scale.shape));
    const DType want = n_.op == "QuantizeLinear" ? zp.dtype : input_dtype(0);
    if (zp.dtype != want ||
        (zp.dtype != DType::kUInt8 && zp.dtype != DType::kInt8 && zp.dtype != DType::kInt32))
      bad("zero point '" + n_.inputs[2] + "' is " + dtype_name(zp.dtype) + ", expected " +
          (n_.op == "QuantizeLinear" ? std::string("uint8 or int8")
                                     : std::string("the input's type ") + dtype_name(want)));
    if (n_.op == "QuantizeLinear" && zp.dtype == DType::kInt32)
      bad("QuantizeLinear cannot produce int32 (zero point '" + n_.inputs[2] + "')");
    if (zp.dtype == DType::kInt32)
      for (int64_t v : zp.i)
        if (v != 0)
          bad("an int32 zero point must be 0, '" + n_.inputs[2] + "' holds " + std::to_string(v));
  }
  const TensorData& constant_input(size_t k, const char* role) const {
    in(k);
    auto it = g_.initializers.find(n_.inputs[k]);
    if (it == g_.initializers.end())
      unsupported(n_.op + " " + role + " '" + n_.inputs[k] +
                  "' must be an initializer (constant); it is computed at run time or a graph "
                  "input");
    return it->second;
  }
  DType input_dtype(size_t k) const { return g_.values.at(n_.inputs[k]).dtype; }

  Shape softmax() const {
    const Shape& x = in(0);
    int64_t axis = n_.i("axis");
    if (axis < 0 || axis >= static_cast<int64_t>(x.size()))
      bad("axis " + std::to_string(axis) + " out of range for " + shape_str(x));
    if (batched(x) && axis == 0) unsupported("Softmax over the batch dimension");
    return x;
  }
};

}  // namespace

std::vector<Shape> infer_node_shapes(const Graph& g, const Node& n) {
  return ShapeInference(g, n).run();
}

DType node_output_dtype(const Graph& g, const Node& n) {
  if (n.op != "QuantizeLinear") return DType::kFloat;
  if (n.inputs.size() < 3 || n.inputs[2].empty()) return DType::kUInt8;
  return g.value(n.inputs[2]).dtype;
}

void infer_shapes(Graph& g) {
  for (const auto& n : g.nodes) {
    auto shapes = infer_node_shapes(g, n);
    for (size_t k = 0; k < n.outputs.size() && k < shapes.size(); ++k)
      g.values[n.outputs[k]] = ValueInfo{n.outputs[k], node_output_dtype(g, n), shapes[k]};
  }
}

int64_t quantize_value(float x, float scale, int64_t zero_point, DType type) {
  const float lo = type == DType::kInt8 ? -128.0f : 0.0f, hi = type == DType::kInt8 ? 127 : 255;
  const float q = std::nearbyint(x / scale) + static_cast<float>(zero_point);  // ties to even
  return static_cast<int64_t>(std::isnan(q) ? 0.0f : std::clamp(q, lo, hi));
}

bool is_qdq_int8_layer(const Graph& g, const Node& n) {
  if ((n.op != "Conv" && n.op != "Gemm") || n.inputs.size() < 2) return false;
  const Node* x = g.producer(n.inputs[0]);
  const Node* w = g.producer(n.inputs[1]);
  return x && w && x->op == "DequantizeLinear" && !g.is_initializer(x->inputs[0]) &&
         w->op == "DequantizeLinear" && g.is_initializer(w->inputs[0]) &&
         g.initializer(w->inputs[0]).dtype == DType::kInt8;
}

float round_to_bf16(float x) {
  const uint32_t b = std::bit_cast<uint32_t>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) return x;  // NaN stays NaN
  const uint32_t r = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
  return std::bit_cast<float>(r);
}

}  // namespace autocompress
