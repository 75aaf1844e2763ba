#include "evaluator/onednn_executor.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>
#include <unordered_map>

#include "common/error.hpp"
#include "evaluator/fusion.hpp"

namespace autocompress {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::primitive_attr;
using dnnl::prop_kind;
using tag = memory::format_tag;
using dt = memory::data_type;

memory::dims to_dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

tag plain_tag(size_t ndims) {
  switch (ndims) {
    case 1:
      return tag::a;
    case 2:
      return tag::ab;
    case 3:
      return tag::abc;
    case 4:
      return tag::abcd;
    case 5:
      return tag::abcde;
    case 6:
      return tag::abcdef;
    default:
      throw RuntimeError("tensors of rank " + std::to_string(ndims) + " are not supported");
  }
}

memory::desc plain_md(const memory::dims& d, dt t = dt::f32) {
  return memory::desc(d, t, plain_tag(d.size()));
}

// The same layout holding another data type of the same rank (u8 <-> s8 views, f32 -> u8).
memory::desc with_type(memory::desc md, dt t) {
  md.data.data_type = static_cast<dnnl_data_type_t>(t);
  return md;
}

dt to_dt(DType t) {
  switch (t) {
    case DType::kUInt8:
      return dt::u8;
    case DType::kInt8:
      return dt::s8;
    case DType::kInt32:
      return dt::s32;
    default:
      return dt::f32;
  }
}

bool is_int8(dt t) { return t == dt::u8 || t == dt::s8; }

// Activations that commute with a positive scale (f(k x) = k f(x), Clip with its bounds scaled):
// they can run on values already in destination units.
bool scales_through(const Activation& a) {
  return a.kind == Activation::kRelu || a.kind == Activation::kLeakyRelu ||
         a.kind == Activation::kClip;
}

// Appends activation `a` for inputs in units of `unit` (value = unit * real; only Clip's bounds
// depend on it) and multiplies its result by `scale`.
void append_activation(dnnl::post_ops& po, const Activation& a, float scale = 1.f,
                       float unit = 1.f) {
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

// The tensor a sum post-op adds, or "" when the op has none.
std::string residual_of(const FusedOp& op) {
  for (const auto& p : op.post)
    if (p.is_sum) return p.residual;
  return "";
}

// One activation tensor of a plan. Tensors may alias the buffer of another (views, in-place).
struct TensorRec {
  memory::desc md;
  int alias = -1;  // id of the tensor whose buffer this one shares
  size_t alias_offset = 0;
  bool external = false;  // user buffer, set per run
  int first = INT_MAX, last = -1;
  size_t offset = 0;
  memory mem;
};

struct Step {
  std::string node;  // the graph node this step computes (or prepares data for)
  std::string kind;  // op type, "reorder", "residual copy", "fill"
  dnnl::primitive prim;
  std::vector<std::pair<int, int>> targs;  // (DNNL_ARG_*, tensor id)
  std::unordered_map<int, memory> args;    // fixed (weights) + resolved tensors
  std::function<void()> fn;                // a step that is not a primitive
};

// A compiled network for one batch size: steps + an activation arena planned by liveness.
class Plan {
 public:
  Plan(const Graph& g, const std::vector<FusedOp>& ops, const dnnl::engine& eng, int64_t batch);
  // With `step_seconds`, waits after every step and records its wall time (profiling only).
  void execute(dnnl::stream& s, const std::vector<const float*>& in, const std::vector<float*>& out,
               std::vector<double>* step_seconds = nullptr);
  const std::vector<Step>& steps() const { return steps_; }
  size_t arena_bytes() const { return arena_size_; }

 private:
  int add(const memory::desc& md) {
    TensorRec r;
    r.md = md;
    tensors_.push_back(std::move(r));
    return static_cast<int>(tensors_.size()) - 1;
  }
  int alias(int base, const memory::desc& md, size_t byte_offset = 0) {
    int id = add(md);
    tensors_[id].alias = base;
    tensors_[id].alias_offset = byte_offset;
    return id;
  }
  int id(const std::string& name) const {
    auto it = ids_.find(name);
    if (it == ids_.end()) throw RuntimeError("oneDNN plan: tensor '" + name + "' not computed");
    return it->second;
  }
  memory::dims dims_of(const std::string& name) const {
    return to_dims(with_batch(g_.value(name).shape, batch_));
  }
  std::string current_node() const {
    return op_index_ < ops_.size() ? ops_[op_index_].node->name : "(outputs)";
  }
  void emit(const std::string& kind, dnnl::primitive p, std::vector<std::pair<int, int>> targs,
            std::unordered_map<int, memory> fixed = {}) {
    steps_.push_back({current_node(), kind, std::move(p), std::move(targs), std::move(fixed), {}});
  }
  int as_layout(int t, const memory::desc& want);
  int as_plain(int t) { return as_layout(t, plain_md(tensors_[t].md.dims())); }
  memory constant(const std::vector<float>& v, const memory::desc& md);
  memory constant(const std::string& name, const memory::dims& d) {
    return constant(g_.initializer(name).f, plain_md(d));
  }
  // Data types of a Conv/Gemm: source, weights, destination.
  struct LayerTypes {
    dt src, wei, dst;
  };
  LayerTypes layer_types(const FusedOp& op) const;
  primitive_attr attr_of(const FusedOp& op) const;
  primitive_attr int8_attr(const FusedOp& op) const;
  dt compute_type(const FusedOp& op) const;
  dt output_type(const FusedOp& op) const;
  dt sum_type(const FusedOp& op, dt dst) const;
  // The id of integer tensor q in its integer type (a graph input arrives as float32).
  int qid(const QuantTensor& q) {
    const int t = id(q.name);
    const dt want = to_dt(q.dtype);
    return tensors_[t].md.data_type() == want ? t : as_layout(t, with_type(tensors_[t].md, want));
  }
  void build(const FusedOp& op);
  void conv(const FusedOp& op);
  void gemm(const FusedOp& op);
  int residual_dst(const FusedOp& op, const memory::desc& dst, int src);
  memory::desc residual_layout(const FusedOp& op, const memory::desc& fallback, dt out_t);
  std::vector<float> bias_of(const FusedOp& op) const;
  void quantize(const FusedOp& op);
  void dequantize(const FusedOp& op);
  void quant_loop(const FusedOp& op, const QuantParams& p, bool quantize);
  template <class Prim, class PD>
  void emit_weighted(const FusedOp& op, int x, const PD& pd, const memory::desc& user_w);
  int root(int t) const {
    while (tensors_[t].alias >= 0) t = tensors_[t].alias;
    return t;
  }
  void pool(const FusedOp& op);
  void eltwise(const FusedOp& op);
  void binary(const FusedOp& op);
  void batchnorm(const FusedOp& op);
  void concat(const FusedOp& op);
  void softmax(const FusedOp& op);
  void reduce(const FusedOp& op);
  void pad(const FusedOp& op);
  void reshape(const FusedOp& op);
  void transpose(const FusedOp& op);
  void plan_memory();

  const Graph& g_;
  const std::vector<FusedOp>& ops_;
  dnnl::engine eng_;
  int64_t batch_;
  size_t op_index_ = 0;
  std::vector<TensorRec> tensors_;
  std::unordered_map<std::string, int> ids_;
  std::vector<std::tuple<int, memory::desc, int>> reorders_;  // (src, layout) -> copy
  std::vector<Step> steps_;
  std::vector<int> inputs_, outputs_;
  std::unordered_map<std::string, size_t> last_read_;  // tensor name -> last op reading it
  std::unordered_map<int, std::vector<int>> views_;    // external tensor -> tensors on its buffer
  std::vector<uint8_t> arena_storage_;
  uint8_t* arena_ = nullptr;
  size_t arena_size_ = 0;
};

Plan::Plan(const Graph& g, const std::vector<FusedOp>& ops, const dnnl::engine& eng, int64_t batch)
    : g_(g), ops_(ops), eng_(eng), batch_(batch) {
  for (size_t k = 0; k < ops.size(); ++k)
    for (const auto& t : ops[k].reads) last_read_[t] = k;
  for (const auto& name : g.inputs) {
    int t = add(plain_md(dims_of(name)));
    tensors_[t].external = true;
    ids_[name] = t;
    inputs_.push_back(t);
  }
  for (op_index_ = 0; op_index_ < ops.size(); ++op_index_) {
    const FusedOp& op = ops[op_index_];
    try {
      build(op);
    } catch (const dnnl::error& e) {
      throw RuntimeError("oneDNN could not build node '" + op.node->name + "' (" + op.node->op +
                         "): " + e.what());
    }
  }
  for (const auto& name : g.outputs) {
    int src = id(name);
    int t = add(plain_md(dims_of(name)));
    tensors_[t].external = true;
    auto pd = dnnl::reorder::primitive_desc(eng_, tensors_[src].md, eng_, tensors_[t].md);
    emit("reorder", dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, t}});
    outputs_.push_back(t);
  }
  plan_memory();
}

int Plan::as_layout(int t, const memory::desc& want) {
  if (tensors_[t].md == want) return t;
  for (const auto& [src, md, copy] : reorders_)
    if (src == t && md == want) return copy;
  int copy = add(want);
  auto pd = dnnl::reorder::primitive_desc(eng_, tensors_[t].md, eng_, want);
  emit("reorder", dnnl::reorder(pd), {{DNNL_ARG_FROM, t}, {DNNL_ARG_TO, copy}});
  reorders_.emplace_back(t, want, copy);
  return copy;
}

memory Plan::constant(const std::vector<float>& v, const memory::desc& md) {
  memory m(md, eng_);
  if (v.size() * sizeof(float) != md.get_size())
    throw RuntimeError("constant of " + std::to_string(v.size()) + " values for a buffer of " +
                       std::to_string(md.get_size()) + " bytes");
  std::memcpy(m.get_data_handle(), v.data(), md.get_size());
  return m;
}

// The data type a float Conv/Gemm computes in, from the node's "precision" attribute (graph.hpp).
// "int8" layers whose inputs are not quantized as the contract says run in fp32.
dt Plan::compute_type(const FusedOp& op) const {
  const auto it = op.node->attrs.find("precision");
  if (it == op.node->attrs.end()) return dt::f32;
  const auto* p = std::get_if<std::string>(&it->second);
  if (p && (*p == "fp32" || *p == "int8")) return dt::f32;
  if (p && *p == "bf16") return dt::bf16;
  throw UnsupportedError(g_.source, op.node->name,
                         "precision '" + (p ? *p : std::string("?")) +
                             "' is not executable by the oneDNN evaluator (fp32, bf16, int8)");
}

// A low-precision layer hands its output on in its own type, except to the graph's outputs.
dt Plan::output_type(const FusedOp& op) const {
  const bool graph_out =
      std::find(g_.outputs.begin(), g_.outputs.end(), op.output) != g_.outputs.end();
  return graph_out ? dt::f32 : compute_type(op);
}

Plan::LayerTypes Plan::layer_types(const FusedOp& op) const {
  if (op.int8()) return {to_dt(op.qin[0].dtype), dt::s8, op.qout ? to_dt(op.qout->dtype) : dt::f32};
  const dt ct = compute_type(op);
  return {ct, ct, output_type(op)};
}

// The type the sum post-op reads the destination buffer as: an int8 residual keeps its own type
// in an int8 destination (u8 <-> s8 have the same size); otherwise the destination's type.
dt Plan::sum_type(const FusedOp& op, dt dst) const {
  for (const auto& p : op.post)
    if (p.is_sum && p.qresidual && is_int8(dst)) return to_dt(p.qresidual->dtype);
  return dst;
}

primitive_attr Plan::attr_of(const FusedOp& op) const {
  if (op.int8()) return int8_attr(op);
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

// int8 Conv/Gemm. oneDNN 2.x computes dst = post_ops((acc + bias) * oscale[oc]), then rounds and
// saturates to the destination type. With F = 1/s_y (1 for a float output): activations that
// commute with scaling run in destination units (oscale = s_x s_w[oc] F); from the first one that
// does not (HardSwish, Sigmoid, ...) on, values are real until the last such activation, whose
// eltwise scale applies F (REFERENCE.md: int8 traps). A sum adds the residual buffer, which holds
// r_q (scale s_r) or a float residual, times the units in force at that point.
primitive_attr Plan::int8_attr(const FusedOp& op) const {
  const float F = op.qout ? 1.f / op.qout->scale : 1.f;
  int last = -1;  // the last activation that needs real units
  for (size_t k = 0; k < op.post.size(); ++k)
    if (!op.post[k].is_sum && !scales_through(op.post[k].act)) last = int(k);
  const dt dst = layer_types(op).dst, held = sum_type(op, dst);
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
std::vector<float> Plan::bias_of(const FusedOp& op) const {
  if (!op.int8()) return op.bias;
  std::vector<float> b(op.bias.size());
  for (size_t o = 0; o < b.size(); ++o)
    b[o] = float(double(op.bias[o]) / (double(op.qin[0].scale) * op.weight_scales[o]));
  return b;
}

void Plan::build(const FusedOp& op) {
  const std::string& o = op.node->op;
  if (o == "Conv") return conv(op);
  if (o == "Gemm") return gemm(op);
  if (o == "MaxPool" || o == "AveragePool" || o == "GlobalAveragePool") return pool(op);
  if (op.act) return eltwise(op);
  if (o == "Add" || o == "Sub" || o == "Mul" || o == "Div") return binary(op);
  if (o == "BatchNormalization") return batchnorm(op);
  if (o == "Concat") return concat(op);
  if (o == "Softmax") return softmax(op);
  if (o == "ReduceMean") return reduce(op);
  if (o == "Pad") return pad(op);
  if (o == "Flatten" || o == "Reshape") return reshape(op);
  if (o == "Transpose") return transpose(op);
  if (o == "QuantizeLinear") return quantize(op);
  if (o == "DequantizeLinear") return dequantize(op);
  throw UnsupportedError(g_.source, op.node->name, "op '" + o + "' has no oneDNN lowering");
}

// The destination of a Conv/Gemm with a sum post-op: the residual's own buffer when this op is
// its last reader, the op does not read that buffer and the layouts agree (in place), else a
// copy of the residual made just before, in the type the sum reads it as (sum_type).
int Plan::residual_dst(const FusedOp& op, const memory::desc& dst, int src) {
  const std::string res = residual_of(op);
  int r = id(res);
  const memory::desc held = with_type(dst, sum_type(op, dst.data_type()));
  bool last = last_read_.at(res) == op_index_;
  bool graph_out = std::find(g_.outputs.begin(), g_.outputs.end(), res) != g_.outputs.end();
  if (last && !graph_out && !tensors_[r].external && tensors_[r].md == held && root(r) != root(src))
    return alias(r, dst);
  int out = add(dst);
  const int view = held == dst ? out : alias(out, held);
  auto pd = dnnl::reorder::primitive_desc(eng_, tensors_[r].md, eng_, held);
  emit("residual copy", dnnl::reorder(pd), {{DNNL_ARG_FROM, r}, {DNNL_ARG_TO, view}});
  return out;
}

// The destination layout to ask for: the residual's, so that the sum can run in place.
memory::desc Plan::residual_layout(const FusedOp& op, const memory::desc& fallback, dt out_t) {
  if (residual_of(op).empty()) return fallback;
  const memory::desc& r = tensors_[id(residual_of(op))].md;
  const dt held = sum_type(op, out_t);
  if (r.data_type() != held) return fallback;
  return with_type(r, out_t);
}

// The shared tail of Conv and Gemm: the activations in the layout the primitive chose, the
// weights reordered into theirs once (int8 layers: integers, exactly), the bias, and the
// destination (in place for a residual sum where possible).
template <class Prim, class PD>
void Plan::emit_weighted(const FusedOp& op, int x, const PD& pd, const memory::desc& user_w) {
  const int src = as_layout(x, pd.src_desc());
  memory w(pd.weights_desc(), eng_);
  memory user = constant(op.weights, user_w);
  dnnl::stream s(eng_);
  dnnl::reorder(user, w).execute(s, user, w);
  s.wait();
  memory b = constant(bias_of(op), memory::desc({memory::dim(op.bias.size())}, dt::f32, tag::x));
  const int out =
      residual_of(op).empty() ? add(pd.dst_desc()) : residual_dst(op, pd.dst_desc(), src);
  emit(op.node->op, Prim(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out}},
       {{DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}});
  ids_[op.output] = out;
}

void Plan::conv(const FusedOp& op) {
  const Node& n = *op.node;
  const int x = op.int8() ? qid(op.qin[0]) : id(op.input);
  const auto& ws = op.weight_shape;  // [M, C/g, kh, kw]
  const int64_t groups = n.i("group", 1);
  const memory::dims src_d = tensors_[x].md.dims(), dst_d = dims_of(op.output);
  memory::dims w_d = groups == 1 ? memory::dims{ws[0], ws[1], ws[2], ws[3]}
                                 : memory::dims{groups, ws[0] / groups, ws[1], ws[2], ws[3]};
  const auto& st = n.ints("strides");
  const auto& pads = n.ints("pads");
  const auto& dil = n.ints("dilations");
  memory::dims strides{st[0], st[1]}, dilates{dil[0] - 1, dil[1] - 1};
  memory::dims pad_l{pads[0], pads[1]}, pad_r{pads[2], pads[3]};
  const LayerTypes t = layer_types(op);
  const memory::desc any_dst(dst_d, t.dst, tag::any);
  auto make = [&](const memory::desc& dmd) {
    dnnl::convolution_forward::desc d(
        prop_kind::forward_inference, algorithm::convolution_direct,
        memory::desc(src_d, t.src, tag::any), memory::desc(w_d, t.wei, tag::any),
        memory::desc({ws[0]}, dt::f32, tag::x), dmd, strides, dilates, pad_l, pad_r);
    return dnnl::convolution_forward::primitive_desc(d, attr_of(op), eng_);
  };
  dnnl::convolution_forward::primitive_desc pd;
  try {
    pd = make(residual_layout(op, any_dst, t.dst));
  } catch (const dnnl::error&) {
    pd = make(any_dst);
  }
  emit_weighted<dnnl::convolution_forward>(
      op, x, pd, memory::desc(w_d, dt::f32, groups == 1 ? tag::oihw : tag::goihw));
}

void Plan::gemm(const FusedOp& op) {
  const int x = op.int8() ? qid(op.qin[0]) : id(op.input);
  const auto& ws = op.weight_shape;  // [M,K] or [M,C,H,W]
  memory::dims src_d = tensors_[x].md.dims(), w_d(ws.begin(), ws.end());
  const memory::dims dst_d = dims_of(op.output);
  const LayerTypes t = layer_types(op);
  auto make = [&](const memory::desc& src_md) {
    dnnl::inner_product_forward::desc d(
        prop_kind::forward_inference, src_md, memory::desc(w_d, t.wei, tag::any),
        memory::desc({ws[0]}, dt::f32, tag::x), memory::desc(dst_d, t.dst, tag::any));
    return dnnl::inner_product_forward::primitive_desc(d, attr_of(op), eng_);
  };
  // Read the producer's layout as it is (e.g. a blocked 4-D tensor after a bypassed Flatten):
  // the weights follow it, and no reorder of the activations is needed.
  dnnl::inner_product_forward::primitive_desc pd;
  try {
    if (tensors_[x].md.data_type() != t.src) throw dnnl::error(dnnl_unimplemented, "dtype");
    pd = make(tensors_[x].md);
  } catch (const dnnl::error&) {
    pd = make(memory::desc(src_d, t.src, tag::any));
  }
  emit_weighted<dnnl::inner_product_forward>(op, x, pd, plain_md(w_d));
}

// QuantizeLinear on its own: a reorder to u8/s8 with output scale 1/s (per tensor or per axis)
// and the zero point; per-axis zero points take the plain loop.
void Plan::quantize(const FusedOp& op) {
  const Node& n = *op.node;
  const auto p = quant_params(g_, n);
  if (!p) throw UnsupportedError(g_.source, n.name, "QuantizeLinear with non-constant scale");
  if (!p->per_tensor() && !p->symmetric()) return quant_loop(op, *p, true);
  const int x = id(n.inputs[0]);
  std::vector<float> inv(p->scale.size());
  for (size_t k = 0; k < inv.size(); ++k) inv[k] = 1.f / p->scale[k];
  primitive_attr attr;
  attr.set_output_scales(p->per_tensor() ? 0 : 1 << p->axis, inv);
  if (p->zero_point[0] != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {int(p->zero_point[0])});
  const int out = add(with_type(tensors_[x].md, to_dt(p->dtype)));
  auto pd = dnnl::reorder::primitive_desc(eng_, tensors_[x].md, eng_, tensors_[out].md, attr);
  emit(n.op, dnnl::reorder(pd), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, out}});
  ids_[op.output] = out;
}

// DequantizeLinear on its own: a reorder to f32 with output scale s and the zero point (a
// constant input is dequantized once and copied in; per-axis zero points take the plain loop).
void Plan::dequantize(const FusedOp& op) {
  const Node& n = *op.node;
  const auto p = quant_params(g_, n);
  if (!p) throw UnsupportedError(g_.source, n.name, "DequantizeLinear with non-constant scale");
  if (g_.is_initializer(n.inputs[0])) {
    const int out = add(plain_md(dims_of(op.output)));
    Step fill{n.name, "fill", {}, {{DNNL_ARG_DST, out}}, {}, {}};
    fill.fn = [this, out, v = autocompress::dequantize(g_.initializer(n.inputs[0]), *p)] {
      std::memcpy(tensors_[out].mem.get_data_handle(), v.data(), v.size() * sizeof(float));
    };
    steps_.push_back(std::move(fill));
    ids_[op.output] = out;
    return;
  }
  if (!p->per_tensor() && !p->symmetric()) return quant_loop(op, *p, false);
  int x = id(n.inputs[0]);
  if (tensors_[x].md.data_type() == dt::f32)  // a graph input: integers held as float32
    x = as_layout(x, with_type(tensors_[x].md, to_dt(p->dtype)));
  primitive_attr attr;
  attr.set_output_scales(p->per_tensor() ? 0 : 1 << p->axis, p->scale);
  if (p->zero_point[0] != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {int(p->zero_point[0])});
  const int out = add(with_type(tensors_[x].md, dt::f32));
  auto pd = dnnl::reorder::primitive_desc(eng_, tensors_[x].md, eng_, tensors_[out].md, attr);
  emit(n.op, dnnl::reorder(pd), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, out}});
  ids_[op.output] = out;
}

// Q / DQ with per-axis zero points (oneDNN reorders take one zero point): plain loops.
void Plan::quant_loop(const FusedOp& op, const QuantParams& p, bool quantize) {
  const int x = as_plain(id(op.node->inputs[0]));
  const memory::dims d = tensors_[x].md.dims();
  const dt out_t = quantize ? to_dt(p.dtype) : dt::f32;
  const int out = add(plain_md(d, out_t));
  int64_t inner = 1;
  for (size_t k = p.axis + 1; k < d.size(); ++k) inner *= d[k];
  const int64_t extent = d.at(p.axis);
  Step st{op.node->name, op.node->op, {}, {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, out}}, {}, {}};
  st.fn = [this, x, out, p, inner, extent, quantize, out_t] {
    const float* in = static_cast<const float*>(tensors_[x].mem.get_data_handle());
    void* o = tensors_[out].mem.get_data_handle();
    const int64_t total = int64_t(tensors_[x].md.get_size() / sizeof(float));
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
  steps_.push_back(std::move(st));
  ids_[op.output] = out;
}

void Plan::pool(const FusedOp& op) {
  const Node& n = *op.node;
  const int x = op.qin.empty() ? id(op.input) : qid(op.qin[0]);  // u8/s8 in, same type out
  const memory::dims src_d = tensors_[x].md.dims(), dst_d = dims_of(op.output);
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
      throw UnsupportedError(g_.source, n.name, "AveragePool with ceil_mode and count_include_pad");
  }
  dnnl::pooling_v2_forward::desc d(prop_kind::forward_inference, alg, tensors_[x].md,
                                   memory::desc(dst_d, tensors_[x].md.data_type(), tag::any),
                                   strides, kernel, dil, pad_l, pad_r);
  dnnl::pooling_v2_forward::primitive_desc pd(d, eng_);
  const int out = add(pd.dst_desc());
  emit(n.op, dnnl::pooling_v2_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}});
  ids_[op.output] = out;
}

void Plan::eltwise(const FusedOp& op) {
  const int x = id(op.input);
  dnnl::post_ops chain;
  append_activation(chain, *op.act);
  int cur = x;
  for (int k = 0; k < chain.len(); ++k) {
    algorithm alg;
    float scale, alpha, beta;
    chain.get_params_eltwise(k, scale, alg, alpha, beta);
    dnnl::eltwise_forward::desc d(prop_kind::forward_inference, alg, tensors_[cur].md, alpha, beta);
    dnnl::eltwise_forward::primitive_desc pd(d, eng_);
    const int out = add(pd.dst_desc());
    emit(op.node->op, dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, cur}, {DNNL_ARG_DST, out}});
    cur = out;
  }
  ids_[op.output] = cur;
}

void Plan::binary(const FusedOp& op) {
  const Node& n = *op.node;
  const memory::dims dst_d = dims_of(n.outputs[0]);
  std::string a = n.inputs[0], b = n.inputs[1];
  auto full = [&](const std::string& t) { return dims_of(t) == dst_d && !g_.is_initializer(t); };
  bool negate = false;
  if (!full(a)) {  // oneDNN broadcasts only the second source
    if (!full(b) || n.op == "Div")
      throw UnsupportedError(g_.source, n.name, n.op + " that broadcasts its first input");
    std::swap(a, b);
    negate = n.op == "Sub";
  }
  memory::dims b_d = dims_of(b);
  b_d.insert(b_d.begin(), dst_d.size() - b_d.size(), 1);
  const algorithm alg = n.op == "Add"   ? algorithm::binary_add
                        : n.op == "Sub" ? algorithm::binary_sub
                        : n.op == "Mul" ? algorithm::binary_mul
                                        : algorithm::binary_div;
  primitive_attr attr = attr_of(op);
  if (negate) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_linear, -1.f, 0.f);
    for (const auto& p : op.post) append_activation(po, p.act);
    attr.set_post_ops(po);
  }
  int x0 = id(a);
  std::unordered_map<int, memory> fixed;
  int x1 = -1;
  memory::desc b_md = plain_md(b_d);
  if (g_.is_initializer(b)) {
    fixed[DNNL_ARG_SRC_1] = constant(g_.initializer(b).f, b_md);
  } else {
    x1 = id(b);
    if (b_d == dst_d) {
      b_md = tensors_[x0].md;  // same shape: read both in the first source's layout
      x1 = as_layout(x1, b_md);
    } else {
      x1 = as_layout(alias(x1, tensors_[x1].md.reshape(b_d)), b_md);
    }
  }
  dnnl::binary::primitive_desc pd;
  try {
    pd = dnnl::binary::primitive_desc(
        dnnl::binary::desc(alg, tensors_[x0].md, b_md,
                           memory::desc(dst_d, tensors_[x0].md.data_type(), tag::any)),
        attr, eng_);
  } catch (const dnnl::error&) {  // some broadcasts need plain layouts
    x0 = as_plain(x0);
    pd = dnnl::binary::primitive_desc(
        dnnl::binary::desc(alg, tensors_[x0].md, b_md, memory::desc(dst_d, dt::f32, tag::any)),
        attr, eng_);
  }
  const int out = add(pd.dst_desc());
  std::vector<std::pair<int, int>> targs{{DNNL_ARG_SRC_0, x0}, {DNNL_ARG_DST, out}};
  if (x1 >= 0) targs.push_back({DNNL_ARG_SRC_1, x1});
  emit(n.op, dnnl::binary(pd), targs, fixed);
  ids_[op.output] = out;
}

void Plan::batchnorm(const FusedOp& op) {
  const Node& n = *op.node;
  int x = id(op.input);
  const memory::dims d = tensors_[x].md.dims();
  const memory::dims c{d[1]};
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  dnnl::batch_normalization_forward::desc bd(prop_kind::forward_inference, tensors_[x].md,
                                             n.f("epsilon", 1e-5f), flags);
  dnnl::batch_normalization_forward::primitive_desc pd(bd, eng_);
  const int out = add(pd.dst_desc());
  emit(n.op, dnnl::batch_normalization_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}},
       {{DNNL_ARG_SCALE, constant(n.inputs[1], c)},
        {DNNL_ARG_SHIFT, constant(n.inputs[2], c)},
        {DNNL_ARG_MEAN, constant(n.inputs[3], c)},
        {DNNL_ARG_VARIANCE, constant(n.inputs[4], c)}});
  ids_[op.output] = out;
}

void Plan::concat(const FusedOp& op) {
  const Node& n = *op.node;
  std::vector<memory::desc> mds;
  std::vector<std::pair<int, int>> targs;
  std::vector<int> ts;
  std::set<dt> types;
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    const std::string& in = n.inputs[k];
    if (g_.is_initializer(in)) throw UnsupportedError(g_.source, n.name, "Concat of a constant");
    ts.push_back(op.qin.empty() ? id(in) : qid(op.qin[k]));  // integers share one grid
    types.insert(tensors_[ts.back()].md.data_type());
  }
  for (size_t k = 0; k < ts.size(); ++k) {
    if (types.size() > 1) ts[k] = as_plain(ts[k]);  // mixed precisions meet in f32
    mds.push_back(tensors_[ts[k]].md);
    targs.push_back({DNNL_ARG_MULTIPLE_SRC + int(k), ts[k]});
  }
  dnnl::concat::primitive_desc pd(int(n.i("axis")), mds, eng_);
  const int out = add(pd.dst_desc());
  targs.push_back({DNNL_ARG_DST, out});
  emit(n.op, dnnl::concat(pd), targs);
  ids_[op.output] = out;
}

void Plan::softmax(const FusedOp& op) {
  const Node& n = *op.node;
  int x = as_plain(id(op.input));
  int axis = int(n.i("axis"));
  memory::dims d = tensors_[x].md.dims();
  if (n.i("coerce_2d", 0)) {
    memory::dim outer = 1, inner = 1;
    for (size_t k = 0; k < d.size(); ++k) (int(k) < axis ? outer : inner) *= d[k];
    x = alias(x, plain_md({outer, inner}));
    axis = 1;
  }
  dnnl::softmax_forward::desc sd(prop_kind::forward_inference, tensors_[x].md, axis);
  dnnl::softmax_forward::primitive_desc pd(sd, eng_);
  int out = add(pd.dst_desc());
  emit(n.op, dnnl::softmax_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}});
  if (tensors_[out].md.dims() != d) out = alias(out, plain_md(d));
  ids_[op.output] = out;
}

void Plan::reduce(const FusedOp& op) {
  const Node& n = *op.node;
  int x = as_plain(id(op.input));
  memory::dims d = tensors_[x].md.dims(), r = d;
  for (int64_t a : n.ints("axes")) r[a] = 1;
  dnnl::reduction::desc rd(algorithm::reduction_mean, tensors_[x].md, plain_md(r), 0.f, 0.f);
  dnnl::reduction::primitive_desc pd(rd, eng_);
  int out = add(pd.dst_desc());
  emit(n.op, dnnl::reduction(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, out}});
  const memory::dims want = dims_of(op.output);
  if (want != r) out = alias(out, plain_md(want));
  ids_[op.output] = out;
}

void Plan::pad(const FusedOp& op) {
  const Node& n = *op.node;
  const int x = as_plain(id(op.input));
  const memory::dims in_d = tensors_[x].md.dims(), out_d = dims_of(op.output);
  const auto& pads = n.ints("pads");
  memory::dims offsets(in_d.size());
  for (size_t k = 0; k < in_d.size(); ++k) {
    if (pads[k] < 0 || pads[k + in_d.size()] < 0)
      throw UnsupportedError(g_.source, n.name, "Pad with negative pads (cropping)");
    offsets[k] = pads[k];
  }
  const int out = add(plain_md(out_d));
  const float value = n.f("value", 0.f);
  Step fill{n.name, "fill", {}, {{DNNL_ARG_DST, out}}, {}, {}};
  fill.fn = [this, out, value] {
    float* p = static_cast<float*>(tensors_[out].mem.get_data_handle());
    std::fill(p, p + tensors_[out].md.get_size() / sizeof(float), value);
  };
  steps_.push_back(std::move(fill));
  const int view = alias(out, tensors_[out].md.submemory_desc(in_d, offsets));
  auto pd = dnnl::reorder::primitive_desc(eng_, tensors_[x].md, eng_, tensors_[view].md);
  emit(n.op, dnnl::reorder(pd), {{DNNL_ARG_FROM, x}, {DNNL_ARG_TO, view}});
  ids_[op.output] = out;
}

void Plan::reshape(const FusedOp& op) {
  if (!op.qin.empty()) {  // integers stay integers
    const int q = qid(op.qin[0]);
    const dt t = tensors_[q].md.data_type();
    const int x = as_layout(q, plain_md(tensors_[q].md.dims(), t));
    ids_[op.output] = alias(x, plain_md(dims_of(op.output), t));
    return;
  }
  const int x = as_plain(id(op.input));
  ids_[op.output] = alias(x, plain_md(dims_of(op.output)));
}

void Plan::transpose(const FusedOp& op) {
  const Node& n = *op.node;
  const int x = as_plain(id(op.input));
  const auto& perm = n.ints("perm");
  std::vector<int> inv(perm.size());  // oneDNN: input axis i becomes output axis inv[i]
  for (size_t k = 0; k < perm.size(); ++k) inv[perm[k]] = int(k);
  const int view = alias(x, tensors_[x].md.permute_axes(inv));
  const int out = add(plain_md(dims_of(op.output)));
  auto pd = dnnl::reorder::primitive_desc(eng_, tensors_[view].md, eng_, tensors_[out].md);
  emit(n.op, dnnl::reorder(pd), {{DNNL_ARG_FROM, view}, {DNNL_ARG_TO, out}});
  ids_[op.output] = out;
}

// Liveness-based arena: every root tensor lives from its first to its last step; two roots share
// bytes only when their lifetimes do not overlap (greedy placement, largest first).
void Plan::plan_memory() {
  for (size_t s = 0; s < steps_.size(); ++s)
    for (const auto& [arg, t] : steps_[s].targs) {
      int r = root(t);
      tensors_[r].first = std::min(tensors_[r].first, int(s));
      tensors_[r].last = std::max(tensors_[r].last, int(s));
    }
  std::vector<int> roots;
  for (size_t t = 0; t < tensors_.size(); ++t)
    if (tensors_[t].alias < 0 && !tensors_[t].external && tensors_[t].last >= 0)
      roots.push_back(int(t));
  std::sort(roots.begin(), roots.end(),
            [&](int a, int b) { return tensors_[a].md.get_size() > tensors_[b].md.get_size(); });
  constexpr size_t kAlign = 64;
  std::vector<int> placed;
  for (int t : roots) {
    const size_t size = (tensors_[t].md.get_size() + kAlign - 1) / kAlign * kAlign;
    std::vector<std::pair<size_t, size_t>> busy;
    for (int p : placed)
      if (tensors_[p].first <= tensors_[t].last && tensors_[t].first <= tensors_[p].last)
        busy.push_back(
            {tensors_[p].offset,
             tensors_[p].offset + (tensors_[p].md.get_size() + kAlign - 1) / kAlign * kAlign});
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (const auto& [lo, hi] : busy) {
      if (off + size <= lo) break;
      off = std::max(off, hi);
    }
    tensors_[t].offset = off;
    arena_size_ = std::max(arena_size_, off + size);
    placed.push_back(t);
  }
  arena_storage_.resize(arena_size_ + kAlign);
  arena_ = reinterpret_cast<uint8_t*>(
      (reinterpret_cast<uintptr_t>(arena_storage_.data()) + kAlign - 1) / kAlign * kAlign);
  for (size_t t = 0; t < tensors_.size(); ++t) {
    int r = root(int(t));
    if (tensors_[r].external) {
      tensors_[t].mem = memory(tensors_[t].md, eng_, DNNL_MEMORY_NONE);
      views_[r].push_back(int(t));
      continue;
    }
    size_t off = tensors_[r].offset;
    for (int a = int(t); a != r; a = tensors_[a].alias) off += tensors_[a].alias_offset;
    tensors_[t].mem = memory(tensors_[t].md, eng_, arena_ + off);
  }
  for (auto& s : steps_)
    for (const auto& [arg, t] : s.targs) s.args[arg] = tensors_[t].mem;
}

void Plan::execute(dnnl::stream& s, const std::vector<const float*>& in,
                   const std::vector<float*>& out, std::vector<double>* step_seconds) {
  auto handle = [&](int t, void* p) {
    for (int v : views_[t]) tensors_[v].mem.set_data_handle(p);
  };
  for (size_t k = 0; k < inputs_.size(); ++k) handle(inputs_[k], const_cast<float*>(in[k]));
  for (size_t k = 0; k < outputs_.size(); ++k) handle(outputs_[k], out[k]);
  if (step_seconds) step_seconds->assign(steps_.size(), 0.0);
  for (size_t k = 0; k < steps_.size(); ++k) {
    Step& step = steps_[k];
    const auto t0 = std::chrono::steady_clock::now();
    if (step.fn) {
      s.wait();
      step.fn();
    } else {
      step.prim.execute(s, step.args);
    }
    if (step_seconds) {
      s.wait();
      (*step_seconds)[k] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  s.wait();
}

class OneDnnExecutor : public Executor {
 public:
  OneDnnExecutor(const Graph& g, const CompileOptions& o)
      : g_(g), options_(o), eng_(dnnl::engine::kind::cpu, 0), stream_(eng_) {
    set_threads();
    ops_ = fuse(g_);
    plan(o.batch);
  }

  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs) override {
    return execute(inputs, nullptr);
  }

  // Median per-step seconds over `repeats` timed runs after one warm-up.
  std::vector<StepTiming> profile(const std::vector<HostTensor>& inputs, int repeats) {
    execute(inputs, nullptr);
    std::vector<std::vector<double>> runs(std::max(repeats, 1));
    for (auto& r : runs) execute(inputs, &r);
    const auto& steps = plan(inputs.at(0).shape.at(0)).steps();
    std::vector<StepTiming> t;
    for (size_t k = 0; k < steps.size(); ++k) {
      std::vector<double> v;
      for (const auto& r : runs) v.push_back(r[k]);
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      t.push_back({steps[k].node, steps[k].kind, v[v.size() / 2]});
    }
    return t;
  }

  std::string name() const override { return "onednn"; }

 private:
  void set_threads() {
    if (options_.threads > 0) omp_set_num_threads(options_.threads);
  }
  std::vector<HostTensor> execute(const std::vector<HostTensor>& inputs,
                                  std::vector<double>* step_seconds) {
    const int64_t batch = check_inputs(g_, inputs);
    set_threads();
    Plan& p = plan(batch);
    std::vector<HostTensor> outs;
    std::vector<const float*> in;
    std::vector<float*> out;
    for (const auto& t : inputs) in.push_back(t.data.data());
    for (const auto& name : g_.outputs) {
      HostTensor h;
      h.shape = with_batch(g_.value(name).shape, batch);
      h.data.resize(numel(h.shape));
      outs.push_back(std::move(h));
    }
    for (auto& h : outs) out.push_back(h.data.data());
    p.execute(stream_, in, out, step_seconds);
    return outs;
  }
  Plan& plan(int64_t batch) {
    auto it = plans_.find(batch);
    if (it == plans_.end())
      it = plans_.emplace(batch, std::make_unique<Plan>(g_, ops_, eng_, batch)).first;
    return *it->second;
  }

  Graph g_;
  CompileOptions options_;
  dnnl::engine eng_;
  dnnl::stream stream_;
  std::vector<FusedOp> ops_;
  std::map<int64_t, std::unique_ptr<Plan>> plans_;
};

}  // namespace

std::vector<StepTiming> profile_steps(Executor& ex, const std::vector<HostTensor>& inputs,
                                      int repeats) {
  auto* dnn = dynamic_cast<OneDnnExecutor*>(&ex);
  if (!dnn) throw UsageError("profile_steps needs an executor made by compile(), got " + ex.name());
  return dnn->profile(inputs, repeats);
}

std::unique_ptr<Executor> compile(const Graph& g, const CompileOptions& options) {
  if (options.batch < 1)
    throw UsageError("batch must be >= 1, got " + std::to_string(options.batch));
  try {
    return std::make_unique<OneDnnExecutor>(g, options);
  } catch (const dnnl::error& e) {
    throw RuntimeError(std::string("oneDNN: ") + e.what());
  }
}

}  // namespace autocompress
