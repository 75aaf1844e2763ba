#include "evaluator/onednn_layers.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace autocompress::onednn {
namespace {

bool is_int8(dt t) { return t == dt::u8 || t == dt::s8; }

// Activations that commute with a positive scale (f(k x) = k f(x), Clip with its bounds scaled):
// they can run on values already in destination units.
bool scales_through(const Activation& a) {
  return a.kind == Activation::kRelu || a.kind == Activation::kLeakyRelu ||
         a.kind == Activation::kClip;
}

// The tensor a sum post-op adds, or "" when the op has none.
std::string residual_of(const FusedOp& op) {
  for (const auto& p : op.post)
    if (p.is_sum) return p.residual;
  return "";
}

// Data types of a Conv/Gemm: source, weights, destination.
struct LayerTypes {
  dt src, wei, dst;
};

// The data type a float Conv/Gemm computes in, from the node's "precision" attribute (graph.hpp).
// "int8" layers whose inputs are not quantized as the contract says run in fp32.
dt compute_type(const PlanBuilder& pb, const FusedOp& op) {
  const auto it = op.node->attrs.find("precision");
  if (it == op.node->attrs.end()) return dt::f32;
  const auto* p = std::get_if<std::string>(&it->second);
  if (p && (*p == "fp32" || *p == "int8")) return dt::f32;
  if (p && *p == "bf16") return dt::bf16;
  throw UnsupportedError(pb.g.source, op.node->name,
                         "precision '" + (p ? *p : std::string("?")) +
                             "' is not executable by the oneDNN evaluator (fp32, bf16, int8)");
}

// A low-precision layer hands its output on in its own type, except to the graph's outputs.
dt output_type(const PlanBuilder& pb, const FusedOp& op) {
  const bool graph_out =
      std::find(pb.g.outputs.begin(), pb.g.outputs.end(), op.output) != pb.g.outputs.end();
  return graph_out ? dt::f32 : compute_type(pb, op);
}

LayerTypes layer_types(const PlanBuilder& pb, const FusedOp& op) {
  if (op.int8()) return {to_dt(op.qin[0].dtype), dt::s8, op.qout ? to_dt(op.qout->dtype) : dt::f32};
  const dt ct = compute_type(pb, op);
  return {ct, ct, output_type(pb, op)};
}

// The type the sum post-op reads the destination buffer as: an int8 residual keeps its own type
// in an int8 destination (u8 <-> s8 have the same size); otherwise the destination's type.
dt sum_type(const FusedOp& op, dt dst) {
  for (const auto& p : op.post)
    if (p.is_sum && p.qresidual && is_int8(dst)) return to_dt(p.qresidual->dtype);
  return dst;
}

// int8 Conv/Gemm. oneDNN 2.x computes dst = post_ops((acc + bias) * oscale[oc]), then rounds and
// saturates to the destination type. With F = 1/s_y (1 for a float output): activations that
// commute with scaling run in destination units (oscale = s_x s_w[oc] F); from the first one that
// does not (HardSwish, Sigmoid, ...) on, values are real until the last such activation, whose
// eltwise scale applies F (REFERENCE.md: int8 traps). A sum adds the residual buffer, which holds
// r_q (scale s_r) or a float residual, times the units in force at that point.
primitive_attr int8_attr(const PlanBuilder& pb, const FusedOp& op) {
  const float F = op.qout ? 1.f / op.qout->scale : 1.f;
  int last = -1;  // the last activation that needs real units
  for (size_t k = 0; k < op.post.size(); ++k)
    if (!op.post[k].is_sum && !scales_through(op.post[k].act)) last = int(k);
  const dt dst = layer_types(pb, op).dst, held = sum_type(op, dst);
  float unit = last < 0 ? F : 1.f;
  dnnl::post_ops po;
  for (size_t k = 0; k < op.post.size(); ++k) {
    const PostOp& p = op.post[k];
    if (p.is_sum) {
      po.append_sum((p.qresidual ? p.qresidual->scale : 1.f) * unit,
                    held == dst ? dt::undef : held);
    } else if (int(k) == last) {
      append_activation(po, p.act, F, 1.f);
      unit = F;
    } else {
      append_activation(po, p.act, 1.f, unit);
    }
  }
  std::vector<float> oscale(op.weight_scales.size());
  for (size_t o = 0; o < oscale.size(); ++o)
    oscale[o] = op.qin[0].scale * op.weight_scales[o] * (last < 0 ? F : 1.f);
  primitive_attr attr;
  attr.set_output_scales(1 << 1, oscale);
  attr.set_post_ops(po);
  return attr;
}

// The bias in accumulator units: int8 layers add it to s_x * s_w[oc] units before the scaling.
std::vector<float> bias_of(const FusedOp& op) {
  if (!op.int8()) return op.bias;
  std::vector<float> b(op.bias.size());
  for (size_t o = 0; o < b.size(); ++o)
    b[o] = float(double(op.bias[o]) / (double(op.qin[0].scale) * op.weight_scales[o]));
  return b;
}

// The destination of a Conv/Gemm with a sum post-op: the residual's own buffer when this op is
// its last reader, the op does not read that buffer and the layouts agree (in place), else a
// copy of the residual made just before, in the type the sum reads it as (sum_type).
int residual_dst(PlanBuilder& pb, const FusedOp& op, const memory::desc& dst, int src) {
  const std::string res = residual_of(op);
  int r = pb.id(res);
  const memory::desc held = with_type(dst, sum_type(op, dst.data_type()));
  bool last = pb.last_read.at(res) == pb.op_index;
  bool graph_out = std::find(pb.g.outputs.begin(), pb.g.outputs.end(), res) != pb.g.outputs.end();
  if (last && !graph_out && !pb.tensors[r].external && pb.tensors[r].md == held &&
      pb.root(r) != pb.root(src))
    return pb.alias(r, dst);
  int out = pb.add(dst);
  const int view = held == dst ? out : pb.alias(out, held);
  auto pd = dnnl::reorder::primitive_desc(pb.eng, pb.tensors[r].md, pb.eng, held);
  pb.emit("residual copy", dnnl::reorder(pd), {{DNNL_ARG_FROM, r}, {DNNL_ARG_TO, view}});
  return out;
}

// The destination layout to ask for: the residual's, so that the sum can run in place.
memory::desc residual_layout(PlanBuilder& pb, const FusedOp& op, const memory::desc& fallback,
                             dt out_t) {
  if (residual_of(op).empty()) return fallback;
  const memory::desc& r = pb.tensors[pb.id(residual_of(op))].md;
  const dt held = sum_type(op, out_t);
  if (r.data_type() != held) return fallback;
  return with_type(r, out_t);
}

// The shared tail of Conv and Gemm: the activations in the layout the primitive chose, the
// weights reordered into theirs once (int8 layers: integers, exactly), the bias, and the
// destination (in place for a residual sum where possible).
template <class Prim, class PD>
void emit_weighted(PlanBuilder& pb, const FusedOp& op, int x, const PD& pd,
                   const memory::desc& user_w) {
  const int src = pb.as_layout(x, pd.src_desc());
  memory w(pd.weights_desc(), pb.eng);
  memory user = pb.constant(op.weights, user_w);
  dnnl::stream s(pb.eng);
  dnnl::reorder(user, w).execute(s, user, w);
  s.wait();
  memory b = pb.constant(bias_of(op), memory::desc({memory::dim(op.bias.size())}, dt::f32, tag::x));
  const int out =
      residual_of(op).empty() ? pb.add(pd.dst_desc()) : residual_dst(pb, op, pd.dst_desc(), src);
  pb.emit(op.node->op, Prim(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out}},
          {{DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}});
  pb.ids[op.output] = out;
}

}  // namespace

void append_activation(dnnl::post_ops& po, const Activation& a, float scale, float unit) {
  constexpr float kBig = 3.0e38f;
  switch (a.kind) {
    case Activation::kRelu:
      po.append_eltwise(scale, algorithm::eltwise_relu, 0.f, 0.f);
      break;
    case Activation::kLeakyRelu:
      po.append_eltwise(scale, algorithm::eltwise_relu, a.alpha, 0.f);
      break;
    case Activation::kClip:
      po.append_eltwise(scale, algorithm::eltwise_clip_v2, std::max(a.alpha * unit, -kBig),
                        std::min(a.beta * unit, kBig));
      break;
    case Activation::kSigmoid:
      po.append_eltwise(scale, algorithm::eltwise_logistic, 0.f, 0.f);
      break;
    case Activation::kHardSigmoid:  // max(0, min(1, alpha*x + beta))
      po.append_eltwise(1.f, algorithm::eltwise_linear, a.alpha, a.beta);
      po.append_eltwise(scale, algorithm::eltwise_clip_v2, 0.f, 1.f);
      break;
    case Activation::kHardSwish:
      po.append_eltwise(scale, algorithm::eltwise_hardswish, 0.f, 0.f);
      break;
    case Activation::kSwish:
      po.append_eltwise(scale, algorithm::eltwise_swish, 1.f, 0.f);
      break;
  }
}

primitive_attr attr_of(const PlanBuilder& pb, const FusedOp& op) {
  if (op.int8()) return int8_attr(pb, op);
  dnnl::post_ops po;
  for (const auto& p : op.post) {
    if (p.is_sum)
      po.append_sum(1.f);
    else
      append_activation(po, p.act);
  }
  primitive_attr attr;
  attr.set_post_ops(po);
  return attr;
}

void conv(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  const int x = op.int8() ? pb.qid(op.qin[0]) : pb.id(op.input);
  const auto& ws = op.weight_shape;  // [M, C/g, kh, kw]
  const int64_t groups = n.i("group", 1);
  const memory::dims src_d = pb.tensors[x].md.dims(), dst_d = pb.dims_of(op.output);
  memory::dims w_d = groups == 1 ? memory::dims{ws[0], ws[1], ws[2], ws[3]}
                                 : memory::dims{groups, ws[0] / groups, ws[1], ws[2], ws[3]};
  const auto& st = n.ints("strides");
  const auto& pads = n.ints("pads");
  const auto& dil = n.ints("dilations");
  memory::dims strides{st[0], st[1]}, dilates{dil[0] - 1, dil[1] - 1};
  memory::dims pad_l{pads[0], pads[1]}, pad_r{pads[2], pads[3]};
  const LayerTypes t = layer_types(pb, op);
  const memory::desc any_dst(dst_d, t.dst, tag::any);
  auto make = [&](const memory::desc& dmd) {
    dnnl::convolution_forward::desc d(
        prop_kind::forward_inference, algorithm::convolution_direct,
        memory::desc(src_d, t.src, tag::any), memory::desc(w_d, t.wei, tag::any),
        memory::desc({ws[0]}, dt::f32, tag::x), dmd, strides, dilates, pad_l, pad_r);
    return dnnl::convolution_forward::primitive_desc(d, attr_of(pb, op), pb.eng);
  };
  dnnl::convolution_forward::primitive_desc pd;
  try {
    pd = make(residual_layout(pb, op, any_dst, t.dst));
  } catch (const dnnl::error&) {
    pd = make(any_dst);
  }
  emit_weighted<dnnl::convolution_forward>(
      pb, op, x, pd, memory::desc(w_d, dt::f32, groups == 1 ? tag::oihw : tag::goihw));
}

void gemm(PlanBuilder& pb, const FusedOp& op) {
  const int x = op.int8() ? pb.qid(op.qin[0]) : pb.id(op.input);
  const auto& ws = op.weight_shape;  // [M,K] or [M,C,H,W]
  memory::dims src_d = pb.tensors[x].md.dims(), w_d(ws.begin(), ws.end());
  const memory::dims dst_d = pb.dims_of(op.output);
  const LayerTypes t = layer_types(pb, op);
  auto make = [&](const memory::desc& src_md) {
    dnnl::inner_product_forward::desc d(
        prop_kind::forward_inference, src_md, memory::desc(w_d, t.wei, tag::any),
        memory::desc({ws[0]}, dt::f32, tag::x), memory::desc(dst_d, t.dst, tag::any));
    return dnnl::inner_product_forward::primitive_desc(d, attr_of(pb, op), pb.eng);
  };
  // Read the producer's layout as it is (e.g. a blocked 4-D tensor after a bypassed Flatten):
  // the weights follow it, and no reorder of the activations is needed.
  dnnl::inner_product_forward::primitive_desc pd;
  try {
    if (pb.tensors[x].md.data_type() != t.src) throw dnnl::error(dnnl_unimplemented, "dtype");
    pd = make(pb.tensors[x].md);
  } catch (const dnnl::error&) {
    pd = make(memory::desc(src_d, t.src, tag::any));
  }
  emit_weighted<dnnl::inner_product_forward>(pb, op, x, pd, plain_md(w_d));
}

}  // namespace autocompress::onednn
