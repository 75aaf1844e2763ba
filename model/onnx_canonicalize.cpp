#include "model/onnx_canonicalize.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "model/onnx_qdq.hpp"
#include "model/onnx_tensor.hpp"

namespace autocompress::onnx_loader {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

using TP = onnx::TensorProto;

// Explicit (top, left, bottom, right) pads, with auto_pad resolved against the input size.
std::vector<int64_t> resolve_pads(const LoadContext& ctx, const Attrs& a, const Shape& x,
                                  const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                                  const std::vector<int64_t>& d) {
  std::string mode = a.s("auto_pad", "NOTSET");
  if (mode == "NOTSET") {
    auto pads = a.ints("pads", {0, 0, 0, 0});
    if (pads.size() != 4)
      ctx.malformed("pads must have 4 values, got " + std::to_string(pads.size()));
    for (int64_t v : pads)
      if (v < 0) ctx.malformed("negative pads are not valid: " + shape_str(pads));
    return pads;
  }
  if (mode == "VALID") return {0, 0, 0, 0};
  if (mode != "SAME_UPPER" && mode != "SAME_LOWER")
    ctx.malformed("unknown auto_pad '" + mode + "'");
  std::vector<int64_t> pads(4);
  for (int i = 0; i < 2; ++i) {
    int64_t len = x[2 + i], out = (len + s[i] - 1) / s[i];
    int64_t total = std::max<int64_t>(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - len);
    int64_t small = total / 2, big = total - small;
    pads[i] = mode == "SAME_UPPER" ? small : big;
    pads[i + 2] = mode == "SAME_UPPER" ? big : small;
  }
  return pads;
}

}  // namespace

Node make_node(const onnx::NodeProto& p, const std::string& op, std::vector<std::string> inputs) {
  Node n;
  n.op = op;
  n.inputs = std::move(inputs);
  n.outputs = {p.output(0)};
  return n;
}

void set_bf16(const LoadContext& ctx, const onnx::NodeProto& p, Node& n) {
  if (p.input_size() > 0 && ctx.bf16_inputs.count(p.input(0)))
    n.attrs["precision"] = std::string("bf16");
}

void emit_conv(LoadContext& ctx, const onnx::NodeProto& p, const std::string& x,
               const std::string& w, const std::string& b, const std::string& y) {
  Attrs a(p);
  const Shape& ws = weight_shape(ctx, p, p.op_type() == "Conv" ? 1 : 3, "weight");
  const Shape& xs = ctx.shape_of(x);
  if (xs.size() != 4 || ws.size() != 4)
    ctx.unsupported("1-D/3-D Conv not supported (input " + shape_str(xs) + ", weight " +
                    shape_str(ws) + "); only 2-D convolutions of [N,C,H,W] tensors");
  std::vector<int64_t> kernel = {ws[2], ws[3]};
  if (a.has("kernel_shape") && a.ints("kernel_shape") != kernel)
    ctx.malformed("kernel_shape " + shape_str(a.ints("kernel_shape")) +
                  " differs from the weight " + shape_str(ws));
  auto strides = a.ints("strides", {1, 1}), dil = a.ints("dilations", {1, 1});
  if (strides.size() != 2 || dil.size() != 2)
    ctx.malformed("strides and dilations must have 2 values");
  std::vector<std::string> inputs = {x, w};
  if (!b.empty()) {
    if (!ctx.constant(b))
      ctx.unsupported("Conv bias '" + b + "' must be an initializer or constant");
    inputs.push_back(b);
  }
  Node n = make_node(p, "Conv", inputs);
  n.outputs = {y};
  n.attrs["strides"] = strides;
  n.attrs["dilations"] = dil;
  n.attrs["pads"] = resolve_pads(ctx, a, xs, kernel, strides, dil);
  n.attrs["group"] = a.i("group", 1);
  set_bf16(ctx, p, n);
  ctx.emit(std::move(n));
}

namespace {

void conv(LoadContext& ctx, const onnx::NodeProto& p) {
  emit_conv(ctx, p, ctx.activation(p, 0), ctx.in(p, 1), ctx.in(p, 2), p.output(0));
}

void gemm(LoadContext& ctx, const onnx::NodeProto& p) {
  Attrs a(p);
  std::string x = ctx.activation(p, 0);
  if (ctx.constant(x)) ctx.unsupported("Gemm with a constant A and a run-time B is not supported");
  if (a.i("transA", 0) != 0)
    ctx.unsupported("Gemm with transA=1 on an activation is not supported");
  const Shape bs = weight_shape(ctx, p, 1, "weight B");
  if (bs.size() != 2) ctx.malformed("Gemm B must be 2-D, got " + shape_str(bs));
  float alpha = a.f("alpha", 1.0f), beta = a.f("beta", 1.0f);
  bool trans_b = a.i("transB", 0) != 0;
  std::string w_name = ctx.in(p, 1);
  if (weight_dq(ctx, w_name) && alpha != 1.0f)
    ctx.unsupported("Gemm with alpha " + std::to_string(alpha) + " of a DequantizeLinear weight");
  if (weight_dq(ctx, w_name) && !trans_b) {
    w_name = transposed_weight(ctx, p, 1, "weight B");
  } else if (!trans_b || alpha != 1.0f) {
    const TensorData& b = ctx.need_const(p, 1, "weight B");
    TensorData w = as_float32(trans_b ? b : transpose2d(b));
    for (float& v : w.f) v *= alpha;
    w_name = ctx.add_const(ctx.in(p, 1) + (trans_b ? "_scaled" : "_t"), std::move(w));
  }
  const int64_t m = trans_b ? bs[0] : bs[1];
  std::vector<std::string> inputs = {x, w_name};
  if (!ctx.in(p, 2).empty() && beta != 0.0f) {
    const TensorData& c = ctx.need_const(p, 2, "bias C");
    const Shape& cs = c.shape;
    int64_t cols = cs.empty() ? 1 : cs.back();
    bool per_row = cs.size() == 2 && cs[0] != 1;
    if (per_row || cs.size() > 2 || (cols != 1 && cols != m))
      ctx.unsupported("Gemm bias C of shape " + shape_str(cs) +
                      " is not supported (only a scalar, [" + std::to_string(m) + "] or [1," +
                      std::to_string(m) + "] broadcast over rows)");
    std::vector<float> bias(m);
    for (int64_t j = 0; j < m; ++j)
      bias[j] = beta * static_cast<float>(value_at(c, cols == 1 ? 0 : j));
    if (cs == Shape{m} && beta == 1.0f && c.is_float())
      inputs.push_back(ctx.in(p, 2));
    else
      inputs.push_back(ctx.add_const(ctx.in(p, 2) + "_bias", float_tensor({m}, std::move(bias))));
  }
  Node n = make_node(p, "Gemm", inputs);
  set_bf16(ctx, p, n);
  ctx.emit(std::move(n));
}

// MatMul of a 2-D activation by a constant 2-D matrix is a Linear layer: Gemm with W = B^T.
void matmul(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  if (ctx.constant(x))
    ctx.unsupported("MatMul with a constant A and a run-time B is not supported");
  const Shape& xs = ctx.shape_of(x);
  if (xs.size() != 2)
    ctx.unsupported("MatMul of a " + std::to_string(xs.size()) + "-D activation " + shape_str(xs) +
                    " is not supported; only [N,K] x constant [K,M] (a Linear layer)");
  const Shape& bs = weight_shape(ctx, p, 1, "B");
  if (bs.size() != 2)
    ctx.unsupported("MatMul by a " + std::to_string(bs.size()) + "-D constant " + shape_str(bs) +
                    " is not supported; only [N,K] x [K,M]");
  Node n = make_node(p, "Gemm", {x, transposed_weight(ctx, p, 1, "B")});
  set_bf16(ctx, p, n);
  ctx.emit(std::move(n));
  ctx.matmul_gemms.insert(ctx.nodes.size() - 1);
}

void batch_norm(LoadContext& ctx, const onnx::NodeProto& p) {
  Attrs a(p);
  if (a.i("training_mode", 0) != 0)
    ctx.unsupported("BatchNormalization with training_mode=1 is not supported (inference only)");
  for (int k = 1; k < p.output_size(); ++k)
    if (ctx.used(p.output(k)))
      ctx.unsupported("BatchNormalization training output '" + p.output(k) + "' is used");
  std::vector<std::string> inputs = {ctx.activation(p, 0)};
  static const char* roles[] = {"scale", "B", "mean", "var"};
  for (int k = 1; k <= 4; ++k) {
    ctx.need_const(p, k, roles[k - 1]);
    inputs.push_back(ctx.in(p, k));
  }
  Node n = make_node(p, "BatchNormalization", inputs);
  n.attrs["epsilon"] = a.f("epsilon", 1e-5f);
  ctx.emit(std::move(n));
}

void unary(LoadContext& ctx, const onnx::NodeProto& p) {
  ctx.emit(make_node(p, p.op_type(), {ctx.activation(p, 0)}));
}

void clip(LoadContext& ctx, const onnx::NodeProto& p) {
  Attrs a(p);
  float lo = -kInf, hi = kInf;
  if (ctx.opset < 11) {
    lo = a.f("min", -kInf);
    hi = a.f("max", kInf);
  } else {
    if (!ctx.in(p, 1).empty()) lo = ctx.const_scalar(p, 1, "min");
    if (!ctx.in(p, 2).empty()) hi = ctx.const_scalar(p, 2, "max");
  }
  Node n = make_node(p, "Clip", {ctx.activation(p, 0)});
  n.attrs["min"] = lo;
  n.attrs["max"] = hi;
  ctx.emit(std::move(n));
}

void leaky_relu(LoadContext& ctx, const onnx::NodeProto& p) {
  Node n = make_node(p, "LeakyRelu", {ctx.activation(p, 0)});
  n.attrs["alpha"] = Attrs(p).f("alpha", 0.01f);
  ctx.emit(std::move(n));
}

void hard_sigmoid(LoadContext& ctx, const onnx::NodeProto& p) {
  Node n = make_node(p, "HardSigmoid", {ctx.activation(p, 0)});
  n.attrs["alpha"] = Attrs(p).f("alpha", 0.2f);
  n.attrs["beta"] = Attrs(p).f("beta", 0.5f);
  ctx.emit(std::move(n));
}

void pool(LoadContext& ctx, const onnx::NodeProto& p) {
  Attrs a(p);
  const std::string& op = p.op_type();
  std::string x = ctx.activation(p, 0);
  const Shape& xs = ctx.shape_of(x);
  if (xs.size() != 4)
    ctx.unsupported("1-D/3-D " + op + " not supported (input " + shape_str(xs) +
                    "); only 2-D pooling");
  if (p.output_size() > 1 && ctx.used(p.output(1)))
    ctx.unsupported("MaxPool's second output (Indices) is not supported");
  auto k = a.ints("kernel_shape"), s = a.ints("strides", {1, 1}), d = a.ints("dilations", {1, 1});
  if (k.size() != 2 || s.size() != 2 || d.size() != 2)
    ctx.malformed("kernel_shape, strides and dilations must have 2 values");
  Node n = make_node(p, op, {x});
  n.attrs["kernel_shape"] = k;
  n.attrs["strides"] = s;
  n.attrs["pads"] = resolve_pads(ctx, a, xs, k, s, d);
  bool same = a.s("auto_pad", "NOTSET").rfind("SAME", 0) == 0;
  n.attrs["ceil_mode"] = same ? int64_t{0} : a.i("ceil_mode", 0);
  if (op == "MaxPool") n.attrs["dilations"] = d;
  if (op == "AveragePool") {
    if (d != std::vector<int64_t>{1, 1}) ctx.unsupported("AveragePool with dilations");
    n.attrs["count_include_pad"] = a.i("count_include_pad", 0);
  }
  ctx.emit(std::move(n));
}

void global_pool(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  if (ctx.shape_of(x).size() != 4)
    ctx.unsupported("GlobalAveragePool of a " + std::to_string(ctx.shape_of(x).size()) +
                    "-D tensor; only [N,C,H,W]");
  ctx.emit(make_node(p, "GlobalAveragePool", {x}));
}

void reduce_mean(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  int64_t rank = static_cast<int64_t>(ctx.shape_of(x).size());
  auto axes = ctx.axes_of(p, 1, rank, false);
  if (axes.empty())
    for (int64_t k = 0; k < rank; ++k) axes.push_back(k);
  Node n = make_node(p, "ReduceMean", {x});
  n.attrs["axes"] = axes;
  n.attrs["keepdims"] = Attrs(p).i("keepdims", 1);
  ctx.emit(std::move(n));
}

void pad(LoadContext& ctx, const onnx::NodeProto& p) {
  Attrs a(p);
  std::string mode = a.s("mode", "constant");
  if (mode != "constant")
    ctx.unsupported("Pad mode '" + mode + "' is not supported (only 'constant')");
  std::string x = ctx.activation(p, 0);
  std::vector<int64_t> pads;
  float value = 0.0f;
  if (ctx.opset < 11) {
    pads = a.ints("pads");
    value = a.f("value", 0.0f);
  } else {
    pads = ctx.const_ints(p, 1, "pads");
    if (!ctx.in(p, 2).empty()) value = ctx.const_scalar(p, 2, "constant_value");
    if (!ctx.in(p, 3).empty()) ctx.unsupported("Pad with an axes input");
  }
  if (pads.size() != 2 * ctx.shape_of(x).size())
    ctx.malformed("pads has " + std::to_string(pads.size()) + " values for a rank-" +
                  std::to_string(ctx.shape_of(x).size()) + " input");
  Node n = make_node(p, "Pad", {x});
  n.attrs["pads"] = pads;
  n.attrs["value"] = value;
  ctx.emit(std::move(n));
}

// MatMul (now a bias-less Gemm) followed by an Add of a constant [M] or [1,M] vector, the Add
// being its only reader: the vector becomes the Gemm's bias.
bool fuse_matmul_bias(LoadContext& ctx, const onnx::NodeProto& p) {
  for (int k = 0; k < 2; ++k) {
    auto it = ctx.producer.find(ctx.in(p, k));
    const TensorData* c = ctx.constant(ctx.in(p, 1 - k));
    if (it == ctx.producer.end() || !c || !ctx.matmul_gemms.count(it->second) ||
        ctx.uses[ctx.in(p, k)] != 1)
      continue;
    Node& gemm = ctx.nodes[it->second];
    int64_t m = ctx.g.values.at(gemm.inputs[1]).shape[0];
    if (c->shape != Shape{m} && c->shape != Shape{1, m}) continue;
    TensorData bias = as_float32(*c);
    bias.shape = {m};
    gemm.inputs.push_back(ctx.add_const(ctx.in(p, 1 - k) + "_bias", std::move(bias)));
    ctx.g.initializers[gemm.inputs.back()] = ctx.consts.at(gemm.inputs.back());
    ctx.g.values[gemm.inputs.back()] = ValueInfo{gemm.inputs.back(), DType::kFloat, {m}};
    ctx.matmul_gemms.erase(it->second);
    ctx.rename_tensor(ctx.in(p, k), p.output(0));
    return true;
  }
  return false;
}

void binary(LoadContext& ctx, const onnx::NodeProto& p) {
  if (p.op_type() == "Add" && fuse_matmul_bias(ctx, p)) return;
  ctx.emit(make_node(p, p.op_type(), {ctx.in(p, 0), ctx.in(p, 1)}));
}

void concat(LoadContext& ctx, const onnx::NodeProto& p) {
  std::vector<std::string> inputs;
  for (int k = 0; k < p.input_size(); ++k) inputs.push_back(ctx.in(p, k));
  int64_t rank = static_cast<int64_t>(ctx.shape_of(inputs.at(0)).size());
  int64_t axis = Attrs(p).i("axis", 0);
  if (axis < -rank || axis >= rank) ctx.malformed("axis " + std::to_string(axis) + " out of range");
  Node n = make_node(p, "Concat", inputs);
  n.attrs["axis"] = axis < 0 ? axis + rank : axis;
  ctx.emit(std::move(n));
}

void flatten(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  int64_t rank = static_cast<int64_t>(ctx.shape_of(x).size());
  int64_t axis = Attrs(p).i("axis", 1);
  if (axis < -rank || axis > rank) ctx.malformed("axis " + std::to_string(axis) + " out of range");
  Node n = make_node(p, "Flatten", {x});
  n.attrs["axis"] = axis < 0 ? axis + rank : axis;
  ctx.emit(std::move(n));
}

void emit_reshape(LoadContext& ctx, const onnx::NodeProto& p, const std::string& x,
                  const Shape& out) {
  Node n = make_node(p, "Reshape", {x});
  n.attrs["shape"] = out;
  ctx.emit(std::move(n));
}

// ONNX Reshape target -> full output shape: 0 copies, -1 infers, kBatchSentinel is the batch.
// Input [N, rest...]: the output keeps the batch at dim 0, either marked (0 / sentinel), or as a
// -1 at dim 0 that resolves to exactly the batch, or as the file's own concrete batch value.
Shape resolve_reshape(const LoadContext& ctx, const Shape& x, const std::vector<int64_t>& target,
                      bool allowzero) {
  const bool batched = !x.empty() && x[0] == kBatch;
  int64_t rest = 1;
  for (size_t k = batched ? 1 : 0; k < x.size(); ++k) rest *= x[k];
  Shape out(target.size());
  int infer = -1, batch_at = -1;
  int64_t known = 1;
  for (size_t k = 0; k < target.size(); ++k) {
    int64_t v = target[k];
    if (v == 0 && !allowzero) {
      if (k >= x.size()) ctx.malformed("shape " + shape_str(target) + ": 0 copies a missing dim");
      v = x[k] == kBatch ? kBatchSentinel : x[k];
    }
    if (v == kBatchSentinel) {
      if (batch_at >= 0) ctx.unsupported("Reshape target names the batch dimension twice");
      batch_at = static_cast<int>(k);
    } else if (v == -1) {
      if (infer >= 0) ctx.malformed("shape " + shape_str(target) + " has two -1");
      infer = static_cast<int>(k);
    } else if (v < 0) {
      ctx.malformed("invalid Reshape target " + shape_str(target));
    } else {
      out[k] = v;
      known *= v;
    }
  }
  auto mixes = [&]() {
    ctx.unsupported("Reshape of " + shape_str(x) + " to " + shape_str(target) +
                    " mixes the batch dimension with other dimensions");
  };
  if (batch_at >= 0 && !batched) mixes();
  if (batched && batch_at < 0) {
    if (infer == 0 && known == rest)
      batch_at = infer, infer = -1;
    else if (!target.empty() && target[0] == ctx.declared_batch && target[0] > 0)
      batch_at = 0, known /= std::max<int64_t>(target[0], 1);
    else
      mixes();
  }
  if (batch_at > 0) mixes();
  if (batch_at == 0) out[0] = kBatch;
  if (infer >= 0) {
    if (known == 0 || rest % known != 0)
      ctx.malformed("cannot reshape " + shape_str(x) + " to " + shape_str(target));
    out[infer] = rest / known;
  } else if (known != rest) {
    ctx.malformed("cannot reshape " + shape_str(x) + " to " + shape_str(target) +
                  " (element counts differ)");
  }
  return out;
}

void reshape(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  if (!ctx.constant(ctx.in(p, 1)))
    ctx.unsupported("Reshape target shape '" + ctx.in(p, 1) +
                    "' is computed at run time and could not be folded to a constant");
  const TensorData& t = *ctx.constant(ctx.in(p, 1));
  if (t.is_float()) ctx.malformed("Reshape shape must be int64");
  emit_reshape(ctx, p, x,
               resolve_reshape(ctx, ctx.shape_of(x), t.i, Attrs(p).i("allowzero", 0) != 0));
}

void squeeze(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  const Shape& xs = ctx.shape_of(x);
  auto axes = ctx.axes_of(p, 1, static_cast<int64_t>(xs.size()), false);
  Shape out;
  for (size_t k = 0; k < xs.size(); ++k) {
    bool listed = std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(k));
    if (listed && xs[k] == kBatch) ctx.unsupported("Squeeze of the batch dimension");
    if (listed && xs[k] != 1)
      ctx.malformed("cannot squeeze dim " + std::to_string(k) + " of " + shape_str(xs) +
                    " (not 1)");
    if (!(listed || (axes.empty() && xs[k] == 1))) out.push_back(xs[k]);
  }
  emit_reshape(ctx, p, x, out);
}

void unsqueeze(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  const Shape& xs = ctx.shape_of(x);
  Attrs a(p);
  size_t n_axes = a.has("axes") ? a.ints("axes").size() : ctx.need_const(p, 1, "axes").i.size();
  auto axes = ctx.axes_of(p, 1, static_cast<int64_t>(xs.size() + n_axes), true);
  if (!xs.empty() && xs[0] == kBatch && axes.front() == 0)
    ctx.unsupported("Unsqueeze at axis 0 moves the batch dimension");
  Shape out;
  size_t src = 0;
  for (size_t k = 0; k < xs.size() + axes.size(); ++k)
    out.push_back(
        std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(k)) ? 1 : xs[src++]);
  emit_reshape(ctx, p, x, out);
}

// A Transpose that only moves size-1 dimensions keeps the data order: it is a Reshape.
void transpose(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  const Shape& xs = ctx.shape_of(x);
  std::vector<int64_t> perm = Attrs(p).ints("perm");
  if (perm.empty())
    for (size_t k = xs.size(); k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  if (perm.size() != xs.size())
    ctx.malformed("perm " + shape_str(perm) + " does not match " + shape_str(xs));
  std::vector<int64_t> moved;
  Shape out;
  for (int64_t k : perm) {
    if (k < 0 || k >= static_cast<int64_t>(xs.size()))
      ctx.malformed("perm " + shape_str(perm) + " is invalid");
    out.push_back(xs[k]);
    if (xs[k] != 1) moved.push_back(k);
  }
  if (std::is_sorted(moved.begin(), moved.end())) {
    emit_reshape(ctx, p, x, out);
    return;
  }
  Node n = make_node(p, "Transpose", {x});
  n.attrs["perm"] = perm;
  ctx.emit(std::move(n));
}

void softmax(LoadContext& ctx, const onnx::NodeProto& p) {
  std::string x = ctx.activation(p, 0);
  int64_t rank = static_cast<int64_t>(ctx.shape_of(x).size());
  int64_t axis = Attrs(p).i("axis", ctx.opset < 13 ? 1 : -1);
  if (axis < -rank || axis >= rank) ctx.malformed("axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += rank;
  Node n = make_node(p, "Softmax", {x});
  n.attrs["axis"] = axis;
  n.attrs["coerce_2d"] = int64_t{ctx.opset < 13 && axis != rank - 1 ? 1 : 0};
  ctx.emit(std::move(n));
}

// Cast of an activation: float32 -> float32 (a no-op), or the Cast(to=BFLOAT16) of a bf16 Cast
// pair (find_bf16_pairs), which the layer reading it expresses as its precision.
void cast(LoadContext& ctx, const onnx::NodeProto& p) {
  int64_t to = Attrs(p).i("to", 0);
  const bool pair = to == TP::BFLOAT16 && ctx.bf16_casts.count(p.output(0));
  if (to != TP::FLOAT && !pair)
    ctx.unsupported("Cast of the activation '" + ctx.in(p, 0) + "' to " +
                    TP::DataType_Name(static_cast<TP::DataType>(to)) +
                    "; activations are float32 (a Cast to bfloat16 and back only as the input of "
                    "Conv / Gemm / MatMul: a bf16 layer)");
  ctx.alias[p.output(0)] = ctx.in(p, 0);
}

// Identity and Dropout (inference): the output is the input.
void dropout(LoadContext& ctx, const onnx::NodeProto& p) {
  if (p.op_type() == "Dropout") {
    if (p.output_size() > 1 && ctx.used(p.output(1)))
      ctx.unsupported("Dropout's mask output is used (training graph)");
    if (Attrs(p).i("is_test", 1) == 0 && ctx.opset < 7) ctx.unsupported("Dropout in training mode");
    if (!ctx.in(p, 2).empty()) {
      const TensorData* t = ctx.constant(ctx.in(p, 2));
      if (!t || value_at(*t, 0) != 0.0)
        ctx.unsupported("Dropout with training_mode true or computed at run time");
    }
  }
  ctx.alias[p.output(0)] = ctx.in(p, 0);
}

using Canon = void (*)(LoadContext&, const onnx::NodeProto&);

const std::map<std::string, Canon>& canonicalizers() {
  static const std::map<std::string, Canon> m = {
      {"Conv", &conv},
      {"Gemm", &gemm},
      {"MatMul", &matmul},
      {"BatchNormalization", &batch_norm},
      {"Relu", &unary},
      {"Sigmoid", &unary},
      {"HardSwish", &unary},
      {"Clip", &clip},
      {"LeakyRelu", &leaky_relu},
      {"HardSigmoid", &hard_sigmoid},
      {"MaxPool", &pool},
      {"AveragePool", &pool},
      {"GlobalAveragePool", &global_pool},
      {"ReduceMean", &reduce_mean},
      {"Pad", &pad},
      {"Add", &binary},
      {"Sub", &binary},
      {"Mul", &binary},
      {"Div", &binary},
      {"Concat", &concat},
      {"Flatten", &flatten},
      {"Reshape", &reshape},
      {"Squeeze", &squeeze},
      {"Unsqueeze", &unsqueeze},
      {"Transpose", &transpose},
      {"Softmax", &softmax},
      {"Cast", &cast},
      {"QuantizeLinear", &quantize_linear},
      {"DequantizeLinear", &quantize_linear},
      {"QLinearConv", &qlinear_conv},
      {"Identity", &dropout},
      {"Dropout", &dropout},
  };
  return m;
}

}  // namespace

void canonicalize(LoadContext& ctx, const onnx::NodeProto& p) {
  canonicalizers().at(p.op_type())(ctx, p);
}

}  // namespace autocompress::onnx_loader
