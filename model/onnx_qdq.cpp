#include "model/onnx_qdq.hpp"

#include "model/onnx_canonicalize.hpp"
#include "model/onnx_tensor.hpp"

namespace autocompress::onnx_loader {
namespace {

// The axis attribute made non-negative; absent stays absent (ONNX's and the IR's default is 1).
void set_quant_axis(const LoadContext& ctx, const onnx::NodeProto& p, const std::string& x,
                    Node& n) {
  Attrs a(p);
  if (!a.has("axis")) return;
  const int64_t rank = static_cast<int64_t>(ctx.shape_of(x).size()), axis = a.i("axis", 1);
  if (axis < -rank || axis >= rank)
    ctx.malformed("axis " + std::to_string(axis) + " out of range for " +
                  shape_str(ctx.shape_of(x)));
  n.attrs["axis"] = axis < 0 ? axis + rank : axis;
}

// A DequantizeLinear of x (per tensor, or along axis 0 for a per-channel weight); its output.
std::string emit_dequantize(LoadContext& ctx, const std::string& x, const std::string& scale,
                            const std::string& zero_point, bool per_channel_weight) {
  Node n;
  n.op = "DequantizeLinear";
  n.inputs = {x, scale, zero_point};
  n.outputs = {ctx.fresh(x + "_dequantized")};
  if (per_channel_weight) n.attrs["axis"] = int64_t{0};
  ctx.emit(n, false);
  return n.outputs[0];
}

}  // namespace

const Node* weight_dq(const LoadContext& ctx, const std::string& t) {
  auto it = ctx.producer.find(t);
  if (it == ctx.producer.end()) return nullptr;
  const Node& n = ctx.nodes[it->second];
  return n.op == "DequantizeLinear" && ctx.g.is_initializer(n.inputs[0]) ? &n : nullptr;
}

const Shape& weight_shape(const LoadContext& ctx, const onnx::NodeProto& p, int k,
                          const std::string& role) {
  if (weight_dq(ctx, ctx.in(p, k))) return ctx.shape_of(ctx.in(p, k));
  return ctx.need_const(p, k, role).shape;
}

std::string transposed_weight(LoadContext& ctx, const onnx::NodeProto& p, int k,
                              const std::string& role) {
  const Node* dq = weight_dq(ctx, ctx.in(p, k));
  if (!dq)
    return ctx.add_const(ctx.in(p, k) + "_t", as_float32(transpose2d(ctx.need_const(p, k, role))));
  Node t = *dq;
  const TensorData& q = ctx.g.initializers.at(dq->inputs[0]);
  if (q.shape.size() != 2) ctx.malformed(role + " '" + ctx.in(p, k) + "' must be 2-D");
  t.inputs[0] = ctx.add_const(dq->inputs[0] + "_t", transpose2d(q));
  if (ctx.g.initializers.at(dq->inputs[1]).size() > 1) t.attrs["axis"] = 1 - dq->i("axis", 1);
  t.outputs = {ctx.fresh(ctx.in(p, k) + "_t")};
  ctx.emit(t, false);
  return t.outputs[0];
}

// QuantizeLinear / DequantizeLinear, kept as they are (graph.hpp). The scale and zero point must
// be constants; infer_node_shapes (in emit) checks their types and shapes.
void quantize_linear(LoadContext& ctx, const onnx::NodeProto& p) {
  const bool q = p.op_type() == "QuantizeLinear";
  std::vector<std::string> inputs = {ctx.activation(p, 0), ctx.in(p, 1)};
  ctx.need_const(p, 1, q ? "y_scale" : "x_scale");
  if (!ctx.in(p, 2).empty()) {
    ctx.need_const(p, 2, q ? "y_zero_point" : "x_zero_point");
    inputs.push_back(ctx.in(p, 2));
  }
  Node n = make_node(p, p.op_type(), inputs);
  set_quant_axis(ctx, p, inputs[0], n);
  ctx.emit(std::move(n));
}

// QLinearConv (opset 10) in QDQ form: Q(Conv(DQ(x), DQ(w), B * x_scale * w_scale), y_scale).
// The int32 bias is dequantized at load time, as the conventions keep biases float.
void qlinear_conv(LoadContext& ctx, const onnx::NodeProto& p) {
  static const char* roles[] = {"x_scale", "x_zero_point", "w", "w_scale", "w_zero_point",
                                "y_scale", "y_zero_point", "B"};
  for (int k = 1; k < 9; ++k)
    if (k != 8 || !ctx.in(p, k).empty()) ctx.need_const(p, k, roles[k - 1]);
  const std::string x =
      emit_dequantize(ctx, ctx.activation(p, 0), ctx.in(p, 1), ctx.in(p, 2), false);
  const TensorData& ws = *ctx.constant(ctx.in(p, 4));
  const std::string w =
      emit_dequantize(ctx, ctx.in(p, 3), ctx.in(p, 4), ctx.in(p, 5), ws.size() > 1);
  std::string b;
  if (!ctx.in(p, 8).empty()) {
    const TensorData& bq = *ctx.constant(ctx.in(p, 8));
    const float xs = ctx.const_scalar(p, 1, "x_scale");
    if (bq.dtype != DType::kInt32 || bq.shape.size() != 1)
      ctx.malformed("B '" + ctx.in(p, 8) + "' must be a 1-D int32 tensor, got " +
                    dtype_name(bq.dtype) + " " + shape_str(bq.shape));
    std::vector<float> bias(bq.i.size());
    for (size_t m = 0; m < bias.size(); ++m)
      bias[m] = static_cast<float>(bq.i[m]) * (xs * ws.f[ws.size() > 1 ? m : 0]);
    b = ctx.add_const(ctx.in(p, 8) + "_dequantized", float_tensor(bq.shape, std::move(bias)));
  }
  const std::string y = ctx.fresh(p.output(0) + "_float");
  emit_conv(ctx, p, x, w, b, y);
  Node q = make_node(p, "QuantizeLinear", {y, ctx.in(p, 6), ctx.in(p, 7)});
  ctx.emit(std::move(q), false);
}

}  // namespace autocompress::onnx_loader
