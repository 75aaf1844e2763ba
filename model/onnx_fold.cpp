#include "model/onnx_fold.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "model/onnx_tensor.hpp"

namespace autocompress::onnx_loader {
namespace {

using TP = onnx::TensorProto;

// Largest tensor ConstantOfShape may create at load time (shape computations are tiny).
constexpr int64_t kMaxFoldedElements = int64_t{1} << 26;

const std::set<std::string> kFoldOnlyOps = {"Shape", "Gather", "Slice", "ConstantOfShape"};

TensorData fold_shape(const LoadContext& ctx, const onnx::NodeProto& p) {
  const Shape& s = ctx.shape_of(ctx.in(p, 0));
  int64_t rank = static_cast<int64_t>(s.size());
  Attrs a(p);
  auto clampi = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  int64_t start = clampi(a.i("start", 0)), end = clampi(a.i("end", rank));
  std::vector<int64_t> v;
  for (int64_t k = start; k < end; ++k) v.push_back(s[k] == kBatch ? kBatchSentinel : s[k]);
  return int_tensor(v);
}

TensorData fold_gather(const LoadContext& ctx, const onnx::NodeProto& p) {
  const TensorData& data = *ctx.constant(ctx.in(p, 0));
  const TensorData& ind = *ctx.constant(ctx.in(p, 1));
  int64_t rank = static_cast<int64_t>(data.shape.size());
  int64_t axis = Attrs(p).i("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) ctx.malformed("Gather axis out of range");
  const int64_t dim = data.shape[axis];
  std::vector<int64_t> idx;
  for (int64_t k = 0; k < ind.size(); ++k) {
    int64_t v = static_cast<int64_t>(value_at(ind, k));
    if (v < -dim || v >= dim) ctx.malformed("Gather index " + std::to_string(v) + " out of range");
    idx.push_back(v < 0 ? v + dim : v);
  }
  Shape out(data.shape.begin(), data.shape.begin() + axis);
  out.insert(out.end(), ind.shape.begin(), ind.shape.end());
  out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
  auto st = strides_of(data.shape), ist = strides_of(ind.shape);
  const int64_t q = static_cast<int64_t>(ind.shape.size());
  return remap(data, out, [&](const std::vector<int64_t>& i) {
    int64_t src = 0, flat_ind = 0;
    for (int64_t k = 0; k < axis; ++k) src += i[k] * st[k];
    for (int64_t k = 0; k < q; ++k) flat_ind += i[axis + k] * ist[k];
    src += idx[flat_ind] * st[axis];
    for (int64_t k = axis + 1; k < rank; ++k) src += i[k + q - 1] * st[k];
    return src;
  });
}

TensorData fold_unsqueeze(const LoadContext& ctx, const onnx::NodeProto& p) {
  TensorData t = *ctx.constant(ctx.in(p, 0));
  Attrs a(p);
  size_t n_axes = a.has("axes") ? a.ints("axes").size() : ctx.need_const(p, 1, "axes").i.size();
  auto axes = ctx.axes_of(p, 1, static_cast<int64_t>(t.shape.size() + n_axes), true);
  for (int64_t ax : axes) t.shape.insert(t.shape.begin() + ax, 1);
  return t;
}

TensorData fold_squeeze(const LoadContext& ctx, const onnx::NodeProto& p) {
  TensorData t = *ctx.constant(ctx.in(p, 0));
  auto axes = ctx.axes_of(p, 1, static_cast<int64_t>(t.shape.size()), false);
  Shape out;
  for (size_t k = 0; k < t.shape.size(); ++k) {
    bool listed = std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(k));
    if (listed && t.shape[k] != 1)
      ctx.malformed("cannot squeeze a dim of size " + std::to_string(t.shape[k]));
    if (!(listed || (axes.empty() && t.shape[k] == 1))) out.push_back(t.shape[k]);
  }
  t.shape = out;
  return t;
}

TensorData fold_concat(const LoadContext& ctx, const onnx::NodeProto& p) {
  TensorData r = *ctx.constant(ctx.in(p, 0));
  int64_t rank = static_cast<int64_t>(r.shape.size());
  int64_t axis = Attrs(p).i("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) ctx.malformed("Concat axis out of range");
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= r.shape[k];
  std::vector<const TensorData*> parts;
  for (int k = 0; k < p.input_size(); ++k) parts.push_back(ctx.constant(ctx.in(p, k)));
  TensorData out = r;
  out.f.clear();
  out.i.clear();
  out.shape[axis] = 0;
  for (const auto* t : parts) {
    if (t->shape.size() != r.shape.size() || t->is_float() != r.is_float())
      ctx.malformed("Concat of constants with different ranks or types");
    out.shape[axis] += t->shape[axis];
  }
  for (int64_t o = 0; o < outer; ++o)
    for (const auto* t : parts) {
      int64_t block = t->size() / std::max<int64_t>(outer, 1);
      if (t->is_float())
        out.f.insert(out.f.end(), t->f.begin() + o * block, t->f.begin() + (o + 1) * block);
      else
        out.i.insert(out.i.end(), t->i.begin() + o * block, t->i.begin() + (o + 1) * block);
    }
  return out;
}

TensorData fold_cast(const LoadContext& ctx, const onnx::NodeProto& p) {
  TensorData t = *ctx.constant(ctx.in(p, 0));
  auto to = static_cast<int32_t>(Attrs(p).i("to", 0));
  static const std::set<int32_t> ok = {TP::FLOAT, TP::DOUBLE, TP::FLOAT16, TP::BFLOAT16, TP::INT64,
                                       TP::INT32, TP::INT8,   TP::UINT8,   TP::BOOL};
  if (!ok.count(to))
    ctx.unsupported("Cast to " + TP::DataType_Name(static_cast<TP::DataType>(to)) +
                    " is not supported");
  TensorData r;
  r.dtype = static_cast<DType>(to);
  r.shape = t.shape;
  if (r.is_float()) {
    if (has_sentinel(t))
      ctx.unsupported("Cast of the batch size to a float (batch chosen at run time)");
    for (int64_t k = 0; k < t.size(); ++k) r.f.push_back(static_cast<float>(value_at(t, k)));
    if (to == TP::BFLOAT16)
      for (float& v : r.f) v = round_to_bf16(v);
  } else if (t.is_float()) {
    for (float v : t.f) r.i.push_back(to == TP::BOOL ? v != 0.0f : static_cast<int64_t>(v));
  } else {
    r.i = t.i;
    if (to == TP::BOOL)
      for (auto& v : r.i) v = v != 0;
  }
  return r;
}

TensorData fold_slice(const LoadContext& ctx, const onnx::NodeProto& p) {
  const TensorData& data = *ctx.constant(ctx.in(p, 0));
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  Attrs a(p);
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset < 10) {
    starts = a.ints("starts");
    ends = a.ints("ends");
    axes = a.ints("axes");
  } else {
    starts = ctx.const_ints(p, 1, "starts");
    ends = ctx.const_ints(p, 2, "ends");
    if (!ctx.in(p, 3).empty()) axes = ctx.const_ints(p, 3, "axes");
    if (!ctx.in(p, 4).empty()) steps = ctx.const_ints(p, 4, "steps");
  }
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    ctx.malformed("Slice starts/ends/axes/steps differ in length");
  std::vector<int64_t> first(rank, 0), step(rank, 1);
  Shape out = data.shape;
  for (size_t j = 0; j < axes.size(); ++j) {
    int64_t ax = axes[j] < 0 ? axes[j] + rank : axes[j], d = data.shape.at(ax), st = steps[j];
    if (st == 0) ctx.malformed("Slice step 0");
    auto norm = [&](int64_t v) {
      v = std::clamp<int64_t>(v, -d - 1, d + 1);
      return v < 0 ? v + d : v;
    };
    int64_t s = norm(starts[j]), e = norm(ends[j]);
    s = st > 0 ? std::clamp<int64_t>(s, 0, d) : std::clamp<int64_t>(s, 0, d - 1);
    e = st > 0 ? std::clamp<int64_t>(e, 0, d) : std::clamp<int64_t>(e, -1, d - 1);
    int64_t len = st > 0 ? (e - s + st - 1) / st : (s - e - st - 1) / -st;
    first[ax] = s;
    step[ax] = st;
    out[ax] = std::max<int64_t>(0, len);
  }
  auto strides = strides_of(data.shape);
  return remap(data, out, [&](const std::vector<int64_t>& i) {
    int64_t src = 0;
    for (int64_t k = 0; k < rank; ++k) src += (first[k] + i[k] * step[k]) * strides[k];
    return src;
  });
}

TensorData fold_binary(const LoadContext& ctx, const onnx::NodeProto& p) {
  const TensorData& a = *ctx.constant(ctx.in(p, 0));
  const TensorData& b = *ctx.constant(ctx.in(p, 1));
  auto out = broadcast_shapes(a.shape, b.shape);
  if (!out)
    ctx.malformed(p.op_type() + " of constants " + shape_str(a.shape) + " and " +
                  shape_str(b.shape) + " is not broadcastable");
  if (has_sentinel(a) || has_sentinel(b))
    ctx.unsupported("shape arithmetic (" + p.op_type() +
                    ") on the batch size is not supported (the batch is chosen at run time)");
  const char op = p.op_type() == "Add"   ? '+'
                  : p.op_type() == "Sub" ? '-'
                  : p.op_type() == "Mul" ? '*'
                                         : '/';
  auto index_in = [&](const Shape& s, const std::vector<int64_t>& i) {
    auto st = strides_of(s);
    int64_t src = 0, off = static_cast<int64_t>(out->size() - s.size());
    for (size_t k = 0; k < s.size(); ++k) src += (s[k] == 1 ? 0 : i[k + off]) * st[k];
    return src;
  };
  TensorData ia = remap(a, *out, [&](const auto& i) { return index_in(a.shape, i); });
  TensorData ib = remap(b, *out, [&](const auto& i) { return index_in(b.shape, i); });
  for (int64_t k = 0; k < ia.size(); ++k) {
    if (ia.is_float()) {
      float y = ib.is_float() ? ib.f[k] : static_cast<float>(ib.i[k]);
      float& x = ia.f[k];
      x = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    } else {
      int64_t y = ib.is_float() ? static_cast<int64_t>(ib.f[k]) : ib.i[k];
      int64_t& x = ia.i[k];
      if (op == '/' && y == 0) ctx.malformed("integer division by zero in a constant expression");
      x = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    }
  }
  return ia;
}

TensorData fold_reshape(const LoadContext& ctx, const onnx::NodeProto& p) {
  TensorData t = *ctx.constant(ctx.in(p, 0));
  auto target = ctx.const_ints(p, 1, "shape");
  bool allowzero = Attrs(p).i("allowzero", 0) != 0;
  Shape out(target.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t k = 0; k < target.size(); ++k) {
    out[k] = target[k] == 0 && !allowzero ? t.shape.at(k) : target[k];
    if (out[k] == -1)
      infer = static_cast<int>(k);
    else
      known *= out[k];
  }
  if (infer >= 0) out[infer] = known ? t.size() / known : 0;
  if (numel(out) != t.size())
    ctx.malformed("cannot reshape constant " + shape_str(t.shape) + " to " + shape_str(target));
  t.shape = out;
  return t;
}

TensorData fold_flatten(const LoadContext& ctx, const onnx::NodeProto& p) {
  TensorData t = *ctx.constant(ctx.in(p, 0));
  int64_t rank = static_cast<int64_t>(t.shape.size()), axis = Attrs(p).i("axis", 1);
  if (axis < 0) axis += rank;
  int64_t head = 1;
  for (int64_t k = 0; k < axis; ++k) head *= t.shape[k];
  t.shape = {head, head ? t.size() / head : 0};
  return t;
}

TensorData fold_transpose(const LoadContext& ctx, const onnx::NodeProto& p) {
  const TensorData& t = *ctx.constant(ctx.in(p, 0));
  std::vector<int64_t> perm = Attrs(p).ints("perm");
  if (perm.empty())
    for (size_t k = t.shape.size(); k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  Shape out;
  for (int64_t k : perm) out.push_back(t.shape.at(k));
  auto st = strides_of(t.shape);
  return remap(t, out, [&](const std::vector<int64_t>& i) {
    int64_t src = 0;
    for (size_t k = 0; k < perm.size(); ++k) src += i[k] * st[perm[k]];
    return src;
  });
}

TensorData fold_constant_of_shape(const LoadContext& ctx, const onnx::NodeProto& p) {
  Shape shape = ctx.const_ints(p, 0, "shape");
  int64_t count = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(count, d, &count) || count > kMaxFoldedElements)
      ctx.unsupported("ConstantOfShape of " + shape_str(shape) +
                      " is negative or too large to fold");
  TensorData value = float_tensor({1}, {0.0f});
  if (auto* v = Attrs(p).find("value")) value = decode_tensor(v->t(), ctx.file);
  TensorData r;
  r.dtype = value.dtype;
  r.shape = shape;
  if (r.is_float())
    r.f.assign(numel(shape), value.f.at(0));
  else
    r.i.assign(numel(shape), value.i.at(0));
  return r;
}

// QuantizeLinear / DequantizeLinear of constants (DequantizeLinear of an 8-bit constant never
// gets here: it is a weight, kept as a node). Computed as the reference executor does.
TensorData fold_quantize(const LoadContext& ctx, const onnx::NodeProto& p) {
  const bool q = p.op_type() == "QuantizeLinear";
  const TensorData& x = *ctx.constant(ctx.in(p, 0));
  const TensorData& scale = *ctx.constant(ctx.in(p, 1));
  const TensorData* zp = ctx.in(p, 2).empty() ? nullptr : ctx.constant(ctx.in(p, 2));
  if (!scale.is_float() || (zp && zp->is_float()) || (q != x.is_float()))
    ctx.malformed(p.op_type() + " of constants with input type " + dtype_name(x.dtype) +
                  ", scale " + dtype_name(scale.dtype) + ", zero point " +
                  (zp ? dtype_name(zp->dtype) : "absent"));
  int64_t inner = x.size(), channels = scale.size();
  if (channels > 1) {
    int64_t rank = static_cast<int64_t>(x.shape.size()), axis = Attrs(p).i("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank || x.shape[axis] != channels)
      ctx.malformed(std::to_string(channels) + " scales do not fit " + shape_str(x.shape));
    inner = numel(Shape(x.shape.begin() + axis + 1, x.shape.end()));
  }
  if (zp && zp->size() != channels) ctx.malformed("zero point and scale differ in size");
  if (q && zp && zp->dtype != DType::kUInt8 && zp->dtype != DType::kInt8)
    ctx.malformed("zero point '" + ctx.in(p, 2) + "' is " + dtype_name(zp->dtype) +
                  ", expected uint8 or int8");
  TensorData r;
  r.dtype = q ? (zp ? zp->dtype : DType::kUInt8) : DType::kFloat;
  r.shape = x.shape;
  for (int64_t k = 0; k < x.size(); ++k) {
    const int64_t c = channels > 1 ? (k / inner) % channels : 0, z = zp ? zp->i[c] : 0;
    if (q)
      r.i.push_back(quantize_value(x.f[k], scale.f[c], z, r.dtype));
    else
      r.f.push_back(static_cast<float>(x.i[k] - z) * scale.f[c]);
  }
  return r;
}

using Fold = TensorData (*)(const LoadContext&, const onnx::NodeProto&);

const std::map<std::string, Fold>& folders() {
  static const std::map<std::string, Fold> m = {
      {"Shape", &fold_shape},
      {"Gather", &fold_gather},
      {"Unsqueeze", &fold_unsqueeze},
      {"Squeeze", &fold_squeeze},
      {"Concat", &fold_concat},
      {"Cast", &fold_cast},
      {"Slice", &fold_slice},
      {"Add", &fold_binary},
      {"Sub", &fold_binary},
      {"Mul", &fold_binary},
      {"Div", &fold_binary},
      {"Reshape", &fold_reshape},
      {"Flatten", &fold_flatten},
      {"Transpose", &fold_transpose},
      {"ConstantOfShape", &fold_constant_of_shape},
      {"QuantizeLinear", &fold_quantize},
      {"DequantizeLinear", &fold_quantize},
  };
  return m;
}

}  // namespace

TensorData constant_node(const LoadContext& ctx, const onnx::NodeProto& p) {
  Attrs a(p);
  if (auto* v = a.find("value")) return decode_tensor(v->t(), ctx.file);
  if (auto* v = a.find("value_float")) return float_tensor({}, {v->f()});
  if (auto* v = a.find("value_floats"))
    return float_tensor({v->floats_size()}, {v->floats().begin(), v->floats().end()});
  if (auto* v = a.find("value_int")) {
    TensorData t = int_tensor({v->i()});
    t.shape = {};
    return t;
  }
  if (auto* v = a.find("value_ints")) return int_tensor({v->ints().begin(), v->ints().end()});
  ctx.unsupported("Constant with a sparse or string value is not supported");
}

bool is_fold_only(const std::string& op) { return kFoldOnlyOps.count(op) > 0; }

bool can_fold(const std::string& op) { return folders().count(op) > 0; }

TensorData fold(const LoadContext& ctx, const onnx::NodeProto& p) {
  return folders().at(p.op_type())(ctx, p);
}

}  // namespace autocompress::onnx_loader
