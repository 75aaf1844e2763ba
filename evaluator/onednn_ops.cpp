#include "evaluator/onednn_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "common/error.hpp"
#include "evaluator/onednn_layers.hpp"

namespace autocompress::onednn {
namespace {

// Q / DQ with per-axis zero points (oneDNN reorders take one zero point): plain loops.
void quant_loop(PlanBuilder& pb, const FusedOp& op, const QuantParams& p, bool quantize) {
  const int x = pb.as_plain(pb.id(op.node->inputs[0]));
  const memory::dims d = pb.tensors[x].md.dims();
  const dt out_t = quantize ? to_dt(p.dtype) : dt::f32;
  const int out = pb.add(plain_md(d, out_t));
  int64_t inner = 1;
  for (size_t k = p.axis + 1; k < d.size(); ++k) inner *= d[k];
  const int64_t extent = d.at(p.axis);
  Step st{op.node->name, op.node->op, {}, {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, out}}, {}, {}};
  st.fn = [&pb, x, out, p, inner, extent, quantize, out_t] {
    const float* in = static_cast<const float*>(pb.tensors[x].mem.get_data_handle());
    void* o = pb.tensors[out].mem.get_data_handle();
    const int64_t total = int64_t(pb.tensors[x].md.get_size() / sizeof(float));
    const float lo = out_t == dt::u8 ? 0.f : -128.f, hi = out_t == dt::u8 ? 255.f : 127.f;
    for (int64_t i = 0; i < total; ++i) {
      const size_t c = size_t((i / inner) % extent);
      if (!quantize) {
        static_cast<float*>(o)[i] = (in[i] - float(p.zero_point[c])) * p.scale[c];
        continue;
      }
      const float v =
          std::clamp(std::nearbyint(in[i] / p.scale[c]) + float(p.zero_point[c]), lo, hi);
      if (out_t == dt::u8)
        static_cast<uint8_t*>(o)[i] = uint8_t(v);
      else
        static_cast<int8_t*>(o)[i] = int8_t(v);
    }
  };
  pb.steps.push_back(std::move(st));
  pb.ids[op.output] = out;
}

// The reorder of a standalone Q / DQ: x into out_md with output scales (per tensor or along the
// axis) and the zero point on zp_arg (DNNL_ARG_DST quantizing, DNNL_ARG_SRC dequantizing).
void scaled_reorder(PlanBuilder& pb, const FusedOp& op, int x, const memory::desc& out_md,
                    const QuantParams& p, const std::vector<float>& scales, int zp_arg) {
  primitive_attr attr;
  attr.set_output_scales(p.per_tensor() ? 0 : 1 << p.axis, scales);
  if (p.zero_point[0] != 0) attr.set_zero_points(zp_arg, 0, {int(p.zero_point[0])});
  const int out = pb.add(out_md);
  auto pd =
      dnnl::reorder::primitive_desc(pb.eng, pb.tensors[x].md, pb.eng, pb.tensors[out].md, attr);
  pb.emit(op.node->op, dnnl::reorder(pd), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, out}});
  pb.ids[op.output] = out;
}

// QuantizeLinear on its own: a reorder to u8/s8 with output scale 1/s (per tensor or per axis)
// and the zero point; per-axis zero points take the plain loop.
void quantize(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  const auto p = quant_params(pb.g, n);
  if (!p) throw UnsupportedError(pb.g.source, n.name, "QuantizeLinear with non-constant scale");
  if (!p->per_tensor() && !p->symmetric()) return quant_loop(pb, op, *p, true);
  const int x = pb.id(n.inputs[0]);
  std::vector<float> inv(p->scale.size());
  for (size_t k = 0; k < inv.size(); ++k) inv[k] = 1.f / p->scale[k];
  scaled_reorder(pb, op, x, with_type(pb.tensors[x].md, to_dt(p->dtype)), *p, inv, DNNL_ARG_DST);
}

// DequantizeLinear on its own: a reorder to f32 with output scale s and the zero point (a
// constant input is dequantized once and copied in; per-axis zero points take the plain loop).
void dequantize(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  const auto p = quant_params(pb.g, n);
  if (!p) throw UnsupportedError(pb.g.source, n.name, "DequantizeLinear with non-constant scale");
  if (pb.g.is_initializer(n.inputs[0])) {
    const int out = pb.add(plain_md(pb.dims_of(op.output)));
    Step fill{n.name, "fill", {}, {{DNNL_ARG_DST, out}}, {}, {}};
    fill.fn = [&pb, out, v = autocompress::dequantize(pb.g.initializer(n.inputs[0]), *p)] {
      std::memcpy(pb.tensors[out].mem.get_data_handle(), v.data(), v.size() * sizeof(float));
    };
    pb.steps.push_back(std::move(fill));
    pb.ids[op.output] = out;
    return;
  }
  if (!p->per_tensor() && !p->symmetric()) return quant_loop(pb, op, *p, false);
  int x = pb.id(n.inputs[0]);
  if (pb.tensors[x].md.data_type() == dt::f32)  // a graph input: integers held as float32
    x = pb.as_layout(x, with_type(pb.tensors[x].md, to_dt(p->dtype)));
  scaled_reorder(pb, op, x, with_type(pb.tensors[x].md, dt::f32), *p, p->scale, DNNL_ARG_SRC);
}

void pool(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  const int x = op.qin.empty() ? pb.id(op.input) : pb.qid(op.qin[0]);  // u8/s8 in, same type out
  const memory::dims src_d = pb.tensors[x].md.dims(), dst_d = pb.dims_of(op.output);
  memory::dims kernel, strides{1, 1}, dil{0, 0}, pad_l{0, 0}, pad_r{0, 0};
  algorithm alg = algorithm::pooling_avg_exclude_padding;
  if (n.op == "GlobalAveragePool") {
    kernel = {src_d[2], src_d[3]};
  } else {
    const auto& k = n.ints("kernel_shape");
    const auto& s = n.ints("strides");
    const auto& p = n.ints("pads");
    kernel = {k[0], k[1]};
    strides = {s[0], s[1]};
    pad_l = {p[0], p[1]};
    if (n.op == "MaxPool") {
      alg = algorithm::pooling_max;
      const auto& d = n.ints("dilations");
      dil = {d[0] - 1, d[1] - 1};
    } else if (n.i("count_include_pad", 0)) {
      alg = algorithm::pooling_avg_include_padding;
    }
    // The right padding that makes oneDNN's floor formula give the graph's (maybe ceil) size.
    for (int a = 0; a < 2; ++a)
      pad_r[a] = (dst_d[2 + a] - 1) * strides[a] + (kernel[a] - 1) * (dil[a] + 1) + 1 -
                 src_d[2 + a] - pad_l[a];
    if (alg == algorithm::pooling_avg_include_padding && (pad_r[0] > p[2] || pad_r[1] > p[3]))
      throw UnsupportedError(pb.g.source, n.name,
                             "AveragePool with ceil_mode and count_include_pad");
  }
  dnnl::pooling_v2_forward::desc d(prop_kind::forward_inference, alg, pb.tensors[x].md,
                                   memory::desc(dst_d, pb.tensors[x].md.data_type(), tag::any),
                                   strides, kernel, dil, pad_l, pad_r);
  dnnl::pooling_v2_forward::primitive_desc pd(d, pb.eng);
  const int out = pb.add(pd.dst_desc());
  pb.emit(n.op, dnnl::pooling_v2_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}});
  pb.ids[op.output] = out;
}

void eltwise(PlanBuilder& pb, const FusedOp& op) {
  const int x = pb.id(op.input);
  dnnl::post_ops chain;
  append_activation(chain, *op.act);
  int cur = x;
  for (int k = 0; k < chain.len(); ++k) {
    algorithm alg;
    float scale, alpha, beta;
    chain.get_params_eltwise(k, scale, alg, alpha, beta);
    dnnl::eltwise_forward::desc d(prop_kind::forward_inference, alg, pb.tensors[cur].md, alpha,
                                  beta);
    dnnl::eltwise_forward::primitive_desc pd(d, pb.eng);
    const int out = pb.add(pd.dst_desc());
    pb.emit(op.node->op, dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, cur}, {DNNL_ARG_DST, out}});
    cur = out;
  }
  pb.ids[op.output] = cur;
}

// The post-ops of a binary op; a Sub whose sources were swapped first negates.
primitive_attr binary_attr(const PlanBuilder& pb, const FusedOp& op, bool negate) {
  primitive_attr attr = attr_of(pb, op);
  if (!negate) return attr;
  dnnl::post_ops po;
  po.append_eltwise(1.f, algorithm::eltwise_linear, -1.f, 0.f);
  for (const auto& p : op.post) append_activation(po, p.act);
  attr.set_post_ops(po);
  return attr;
}

void binary(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  const memory::dims dst_d = pb.dims_of(n.outputs[0]);
  std::string a = n.inputs[0], b = n.inputs[1];
  auto full = [&](const std::string& t) {
    return pb.dims_of(t) == dst_d && !pb.g.is_initializer(t);
  };
  bool negate = false;
  if (!full(a)) {  // oneDNN broadcasts only the second source
    if (!full(b) || n.op == "Div")
      throw UnsupportedError(pb.g.source, n.name, n.op + " that broadcasts its first input");
    std::swap(a, b);
    negate = n.op == "Sub";
  }
  memory::dims b_d = pb.dims_of(b);
  b_d.insert(b_d.begin(), dst_d.size() - b_d.size(), 1);
  const algorithm alg = n.op == "Add"   ? algorithm::binary_add
                        : n.op == "Sub" ? algorithm::binary_sub
                        : n.op == "Mul" ? algorithm::binary_mul
                                        : algorithm::binary_div;
  const primitive_attr attr = binary_attr(pb, op, negate);
  int x0 = pb.id(a);
  std::unordered_map<int, memory> fixed;
  int x1 = -1;
  memory::desc b_md = plain_md(b_d);
  if (pb.g.is_initializer(b)) {
    fixed[DNNL_ARG_SRC_1] = pb.constant(pb.g.initializer(b).f, b_md);
  } else {
    x1 = pb.id(b);
    if (b_d == dst_d) {
      b_md = pb.tensors[x0].md;  // same shape: read both in the first source's layout
      x1 = pb.as_layout(x1, b_md);
    } else {
      x1 = pb.as_layout(pb.alias(x1, pb.tensors[x1].md.reshape(b_d)), b_md);
    }
  }
  dnnl::binary::primitive_desc pd;
  try {
    pd = dnnl::binary::primitive_desc(
        dnnl::binary::desc(alg, pb.tensors[x0].md, b_md,
                           memory::desc(dst_d, pb.tensors[x0].md.data_type(), tag::any)),
        attr, pb.eng);
  } catch (const dnnl::error&) {  // some broadcasts need plain layouts
    x0 = pb.as_plain(x0);
    pd = dnnl::binary::primitive_desc(
        dnnl::binary::desc(alg, pb.tensors[x0].md, b_md, memory::desc(dst_d, dt::f32, tag::any)),
        attr, pb.eng);
  }
  const int out = pb.add(pd.dst_desc());
  std::vector<std::pair<int, int>> targs{{DNNL_ARG_SRC_0, x0}, {DNNL_ARG_DST, out}};
  if (x1 >= 0) targs.push_back({DNNL_ARG_SRC_1, x1});
  pb.emit(n.op, dnnl::binary(pd), targs, fixed);
  pb.ids[op.output] = out;
}

void batchnorm(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  int x = pb.id(op.input);
  const memory::dims d = pb.tensors[x].md.dims();
  const memory::dims c{d[1]};
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  dnnl::batch_normalization_forward::desc bd(prop_kind::forward_inference, pb.tensors[x].md,
                                             n.f("epsilon", 1e-5f), flags);
  dnnl::batch_normalization_forward::primitive_desc pd(bd, pb.eng);
  const int out = pb.add(pd.dst_desc());
  pb.emit(n.op, dnnl::batch_normalization_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}},
          {{DNNL_ARG_SCALE, pb.constant(n.inputs[1], c)},
           {DNNL_ARG_SHIFT, pb.constant(n.inputs[2], c)},
           {DNNL_ARG_MEAN, pb.constant(n.inputs[3], c)},
           {DNNL_ARG_VARIANCE, pb.constant(n.inputs[4], c)}});
  pb.ids[op.output] = out;
}

void concat(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  std::vector<memory::desc> mds;
  std::vector<std::pair<int, int>> targs;
  std::vector<int> ts;
  std::set<dt> types;
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    const std::string& in = n.inputs[k];
    if (pb.g.is_initializer(in))
      throw UnsupportedError(pb.g.source, n.name, "Concat of a constant");
    ts.push_back(op.qin.empty() ? pb.id(in) : pb.qid(op.qin[k]));  // integers share one grid
    types.insert(pb.tensors[ts.back()].md.data_type());
  }
  for (size_t k = 0; k < ts.size(); ++k) {
    if (types.size() > 1) ts[k] = pb.as_plain(ts[k]);  // mixed precisions meet in f32
    mds.push_back(pb.tensors[ts[k]].md);
    targs.push_back({DNNL_ARG_MULTIPLE_SRC + int(k), ts[k]});
  }
  dnnl::concat::primitive_desc pd(int(n.i("axis")), mds, pb.eng);
  const int out = pb.add(pd.dst_desc());
  targs.push_back({DNNL_ARG_DST, out});
  pb.emit(n.op, dnnl::concat(pd), targs);
  pb.ids[op.output] = out;
}

void softmax(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  int x = pb.as_plain(pb.id(op.input));
  int axis = int(n.i("axis"));
  memory::dims d = pb.tensors[x].md.dims();
  if (n.i("coerce_2d", 0)) {
    memory::dim outer = 1, inner = 1;
    for (size_t k = 0; k < d.size(); ++k) (int(k) < axis ? outer : inner) *= d[k];
    x = pb.alias(x, plain_md({outer, inner}));
    axis = 1;
  }
  dnnl::softmax_forward::desc sd(prop_kind::forward_inference, pb.tensors[x].md, axis);
  dnnl::softmax_forward::primitive_desc pd(sd, pb.eng);
  int out = pb.add(pd.dst_desc());
  pb.emit(n.op, dnnl::softmax_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}});
  if (pb.tensors[out].md.dims() != d) out = pb.alias(out, plain_md(d));
  pb.ids[op.output] = out;
}

void reduce(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  int x = pb.as_plain(pb.id(op.input));
  memory::dims d = pb.tensors[x].md.dims(), r = d;
  for (int64_t a : n.ints("axes")) r[a] = 1;
  dnnl::reduction::desc rd(algorithm::reduction_mean, pb.tensors[x].md, plain_md(r), 0.f, 0.f);
  dnnl::reduction::primitive_desc pd(rd, pb.eng);
  int out = pb.add(pd.dst_desc());
  pb.emit(n.op, dnnl::reduction(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}});
  const memory::dims want = pb.dims_of(op.output);
  if (want != r) out = pb.alias(out, plain_md(want));
  pb.ids[op.output] = out;
}

void pad(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  const int x = pb.as_plain(pb.id(op.input));
  const memory::dims in_d = pb.tensors[x].md.dims(), out_d = pb.dims_of(op.output);
  const auto& pads = n.ints("pads");
  memory::dims offsets(in_d.size());
  for (size_t k = 0; k < in_d.size(); ++k) {
    if (pads[k] < 0 || pads[k + in_d.size()] < 0)
      throw UnsupportedError(pb.g.source, n.name, "Pad with negative pads (cropping)");
    offsets[k] = pads[k];
  }
  const int out = pb.add(plain_md(out_d));
  const float value = n.f("value", 0.f);
  Step fill{n.name, "fill", {}, {{DNNL_ARG_DST, out}}, {}, {}};
  fill.fn = [&pb, out, value] {
    float* p = static_cast<float*>(pb.tensors[out].mem.get_data_handle());
    std::fill(p, p + pb.tensors[out].md.get_size() / sizeof(float), value);
  };
  pb.steps.push_back(std::move(fill));
  const int view = pb.alias(out, pb.tensors[out].md.submemory_desc(in_d, offsets));
  auto pd = dnnl::reorder::primitive_desc(pb.eng, pb.tensors[x].md, pb.eng, pb.tensors[view].md);
  pb.emit(n.op, dnnl::reorder(pd), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, view}});
  pb.ids[op.output] = out;
}

void reshape(PlanBuilder& pb, const FusedOp& op) {
  if (!op.qin.empty()) {  // integers stay integers
    const int q = pb.qid(op.qin[0]);
    const dt t = pb.tensors[q].md.data_type();
    const int x = pb.as_layout(q, plain_md(pb.tensors[q].md.dims(), t));
    pb.ids[op.output] = pb.alias(x, plain_md(pb.dims_of(op.output), t));
    return;
  }
  const int x = pb.as_plain(pb.id(op.input));
  pb.ids[op.output] = pb.alias(x, plain_md(pb.dims_of(op.output)));
}

void transpose(PlanBuilder& pb, const FusedOp& op) {
  const Node& n = *op.node;
  const int x = pb.as_plain(pb.id(op.input));
  const auto& perm = n.ints("perm");
  std::vector<int> inv(perm.size());  // oneDNN: input axis i becomes output axis inv[i]
  for (size_t k = 0; k < perm.size(); ++k) inv[perm[k]] = int(k);
  const int view = pb.alias(x, pb.tensors[x].md.permute_axes(inv));
  const int out = pb.add(plain_md(pb.dims_of(op.output)));
  auto pd = dnnl::reorder::primitive_desc(pb.eng, pb.tensors[view].md, pb.eng, pb.tensors[out].md);
  pb.emit(n.op, dnnl::reorder(pd), {{DNNL_ARG_FROM, view}, {DNNL_ARG_TO, out}});
  pb.ids[op.output] = out;
}

}  // namespace

void build_op(PlanBuilder& pb, const FusedOp& op) {
  const std::string& o = op.node->op;
  if (o == "Conv") return conv(pb, op);
  if (o == "Gemm") return gemm(pb, op);
  if (o == "MaxPool" || o == "AveragePool" || o == "GlobalAveragePool") return pool(pb, op);
  if (op.act) return eltwise(pb, op);
  if (o == "Add" || o == "Sub" || o == "Mul" || o == "Div") return binary(pb, op);
  if (o == "BatchNormalization") return batchnorm(pb, op);
  if (o == "Concat") return concat(pb, op);
  if (o == "Softmax") return softmax(pb, op);
  if (o == "ReduceMean") return reduce(pb, op);
  if (o == "Pad") return pad(pb, op);
  if (o == "Flatten" || o == "Reshape") return reshape(pb, op);
  if (o == "Transpose") return transpose(pb, op);
  if (o == "QuantizeLinear") return quantize(pb, op);
  if (o == "DequantizeLinear") return dequantize(pb, op);
  throw UnsupportedError(pb.g.source, op.node->name, "op '" + o + "' has no oneDNN lowering");
}

}  // namespace autocompress::onednn
