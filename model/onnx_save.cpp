// Canonical Graph -> ONNX (opset max(13, graph.opset), ir_version 8). Canonical ops are written in
// their opset-13 spelling: Clip bounds, Pad pads and Reshape targets become constant inputs, an
// opset < 13 Softmax (coerce_2d=1) becomes Reshape -> Softmax(last axis) -> Reshape, which the
// loader folds back. The batch dimension is the symbolic dim "N"; Reshape targets copy it with 0.
// QuantizeLinear / DequantizeLinear are written as they are (opset 13, int8/uint8 initializers).
// The layer attributes precision and wbits, which the ONNX checker would reject on a node, go to
// metadata_props (autocompress.precision.<layer>, autocompress.wbits.<layer>); a bf16 layer also
// reads its input through a Cast pair (to bfloat16 and back) and, where its float weights are
// exactly bfloat16 values read by bf16 layers only, stores them as bfloat16 behind a Cast to float
// (graph.hpp, "Quantization conventions"). The loader reads all of this back exactly.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <set>
#include <unordered_set>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

using TP = onnx::TensorProto;

// float32 -> IEEE half, round to nearest even.
uint16_t float_to_half(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint32_t sign = (x >> 16) & 0x8000u, man = x & 0x7fffffu;
  int32_t e8 = static_cast<int32_t>((x >> 23) & 0xffu);
  if (e8 == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (man ? 0x200u : 0u));
  int32_t exp = e8 - 127 + 15;
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp <= 0) {  // subnormal half (or zero)
    if (exp < -10) return static_cast<uint16_t>(sign);
    man |= 0x800000u;
    int shift = 14 - exp;
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = sign | static_cast<uint32_t>(exp) << 10 | (man >> 13), rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right
  return static_cast<uint16_t>(h);
}

uint16_t float_to_bf16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

template <class T, class Src>
std::string raw_bytes(const std::vector<Src>& v, T (*conv)(Src) = nullptr) {
  std::string raw(v.size() * sizeof(T), '\0');
  for (size_t k = 0; k < v.size(); ++k) {
    T x = conv ? conv(v[k]) : static_cast<T>(v[k]);
    std::memcpy(raw.data() + k * sizeof(T), &x, sizeof(T));
  }
  return raw;
}

TP encode_tensor(const std::string& name, const TensorData& t, const std::string& source) {
  TP p;
  p.set_name(name);
  p.set_data_type(static_cast<int32_t>(t.dtype));
  for (int64_t d : t.shape) p.add_dims(d);
  switch (t.dtype) {
    case DType::kFloat:
      p.set_raw_data(raw_bytes<float, float>(t.f));
      break;
    case DType::kDouble:
      p.set_raw_data(raw_bytes<double, float>(t.f));
      break;
    case DType::kFloat16:
      p.set_raw_data(raw_bytes<uint16_t, float>(t.f, float_to_half));
      break;
    case DType::kBFloat16:
      p.set_raw_data(raw_bytes<uint16_t, float>(t.f, float_to_bf16));
      break;
    case DType::kInt64:
      p.set_raw_data(raw_bytes<int64_t, int64_t>(t.i));
      break;
    case DType::kInt32:
      p.set_raw_data(raw_bytes<int32_t, int64_t>(t.i));
      break;
    case DType::kInt8:
      p.set_raw_data(raw_bytes<int8_t, int64_t>(t.i));
      break;
    case DType::kUInt8:
    case DType::kBool:
      p.set_raw_data(raw_bytes<uint8_t, int64_t>(t.i));
      break;
    default:
      throw ModelError(source, "", "initializer '" + name + "' has an undefined data type");
  }
  return p;
}

void set_type(onnx::ValueInfoProto* v, const ValueInfo& info) {
  v->set_name(info.name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(info.dtype));
  auto* shape = tt->mutable_shape();
  for (int64_t d : info.shape) {
    if (d == kBatch)
      shape->add_dim()->set_dim_param("N");
    else
      shape->add_dim()->set_dim_value(d);
  }
}

// ONNX attributes each canonical op carries over unchanged.
const std::map<std::string, std::vector<std::string>>& written_attrs() {
  static const std::map<std::string, std::vector<std::string>> m = {
      {"Conv", {"strides", "pads", "dilations", "group"}},
      {"BatchNormalization", {"epsilon"}},
      {"LeakyRelu", {"alpha"}},
      {"HardSigmoid", {"alpha", "beta"}},
      {"MaxPool", {"kernel_shape", "strides", "pads", "dilations", "ceil_mode"}},
      {"AveragePool", {"kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad"}},
      {"ReduceMean", {"axes", "keepdims"}},
      {"Concat", {"axis"}},
      {"Flatten", {"axis"}},
      {"Transpose", {"perm"}},
      {"Softmax", {"axis"}},
      {"QuantizeLinear", {"axis"}},
      {"DequantizeLinear", {"axis"}},
  };
  return m;
}

void set_attr(onnx::NodeProto* p, const std::string& key, const AttrValue& v) {
  auto* a = p->add_attribute();
  a->set_name(key);
  if (auto* i = std::get_if<int64_t>(&v)) {
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(*i);
  } else if (auto* f = std::get_if<float>(&v)) {
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(*f);
  } else if (auto* s = std::get_if<std::string>(&v)) {
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(*s);
  } else if (auto* is = std::get_if<std::vector<int64_t>>(&v)) {
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : *is) a->add_ints(x);
  } else if (auto* fs = std::get_if<std::vector<float>>(&v)) {
    a->set_type(onnx::AttributeProto::FLOATS);
    for (float x : *fs) a->add_floats(x);
  }
}

class Writer {
 public:
  explicit Writer(const Graph& g) : g_(g) {}
  onnx::ModelProto write();

 private:
  const Graph& g_;
  onnx::GraphProto* gp_ = nullptr;
  std::unordered_set<std::string> names_;

  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int k = 1; names_.count(n); ++k) n = base + "_" + std::to_string(k);
    names_.insert(n);
    return n;
  }
  std::string add_initializer(const std::string& base, const TensorData& t) {
    std::string n = fresh(base);
    *gp_->add_initializer() = encode_tensor(n, t, g_.source);
    return n;
  }
  std::string add_shape(const std::string& base, const Shape& s) {
    TensorData t;
    t.dtype = DType::kInt64;
    t.shape = {static_cast<int64_t>(s.size())};
    for (int64_t d : s) t.i.push_back(d == kBatch ? 0 : d);  // 0 copies the input's batch dim
    return add_initializer(base, t);
  }
  std::string add_scalar(const std::string& base, float v) {
    TensorData t;
    t.f = {v};
    return add_initializer(base, t);
  }
  onnx::NodeProto* add_node(const std::string& op, const std::string& name,
                            const std::vector<std::string>& inputs,
                            const std::vector<std::string>& outputs) {
    auto* p = gp_->add_node();
    p->set_op_type(op);
    p->set_name(name);
    for (const auto& t : inputs) p->add_input(t);
    for (const auto& t : outputs) p->add_output(t);
    return p;
  }
  void write_node(const Node& n);
  void write_softmax_2d(const Node& n);
  std::string write_cast(const std::string& node, const std::string& x, DType to,
                         const std::string& out = "");
  void write_initializers();
  bool bf16_storable(const std::string& t) const;
  void write_metadata(onnx::ModelProto& m) const;
  int64_t opset() const;
};

bool is_bf16_layer(const Node& n) {
  auto it = n.attrs.find("precision");
  const auto* p = it == n.attrs.end() ? nullptr : std::get_if<std::string>(&it->second);
  return p && *p == "bf16";
}

// A Cast of x to `to` (named after `node`); returns its output (`out`, or a fresh name).
std::string Writer::write_cast(const std::string& node, const std::string& x, DType to,
                               const std::string& out) {
  const std::string y =
      out.empty() ? fresh(x + (to == DType::kBFloat16 ? "_bf16" : "_float")) : out;
  auto* p = add_node("Cast", fresh(node), {x}, {y});
  set_attr(p, "to", static_cast<int64_t>(to));
  return y;
}

// A float initializer whose values are all bfloat16 values and which only bf16 layers read, as
// their weight: stored as bfloat16.
bool Writer::bf16_storable(const std::string& t) const {
  const TensorData& w = g_.initializers.at(t);
  if (w.dtype != DType::kFloat) return false;
  bool read = false;
  for (const auto& n : g_.nodes)
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (n.inputs[k] == t) {
        if (k != 1 || !is_bf16_layer(n)) return false;
        read = true;
      }
  return read && std::all_of(w.f.begin(), w.f.end(), [](float v) {
           return std::bit_cast<uint32_t>(round_to_bf16(v)) == std::bit_cast<uint32_t>(v);
         });
}

// Initializers sorted by name (deterministic bytes); bf16-storable ones as bfloat16 plus a Cast
// to float that produces the original name.
void Writer::write_initializers() {
  std::set<std::string> sorted_inits;
  for (const auto& [name, t] : g_.initializers) sorted_inits.insert(name);
  for (const auto& name : sorted_inits) {
    const TensorData& t = g_.initializers.at(name);
    if (!bf16_storable(name)) {
      *gp_->add_initializer() = encode_tensor(name, t, g_.source);
      continue;
    }
    TensorData stored = t;
    stored.dtype = DType::kBFloat16;
    write_cast(name + "_to_float", add_initializer(name + "_bf16", stored), DType::kFloat, name);
  }
}

// Graph metadata plus the layer attributes precision and wbits.
void Writer::write_metadata(onnx::ModelProto& m) const {
  std::map<std::string, std::string> props = g_.metadata;
  for (const auto& n : g_.nodes) {
    if (auto it = n.attrs.find("precision"); it != n.attrs.end())
      if (const auto* p = std::get_if<std::string>(&it->second))
        props["autocompress.precision." + n.name] = *p;
    if (auto it = n.attrs.find("wbits"); it != n.attrs.end())
      if (const auto* b = std::get_if<int64_t>(&it->second))
        props["autocompress.wbits." + n.name] = std::to_string(*b);
  }
  for (const auto& [k, v] : props) {
    auto* e = m.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
}

int64_t Writer::opset() const {
  int64_t v = std::max<int64_t>(13, g_.opset);
  for (const auto& n : g_.nodes)
    if (n.op == "HardSwish") v = std::max<int64_t>(v, 14);  // HardSwish exists from opset 14
  return std::min<int64_t>(v, 17);
}

onnx::ModelProto Writer::write() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("autocompress");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset());
  write_metadata(m);
  gp_ = m.mutable_graph();
  gp_->set_name(g_.name.empty() ? "autocompress" : g_.name);
  for (const auto& [name, v] : g_.values) names_.insert(name);
  for (const auto& n : g_.nodes) names_.insert(n.name);
  write_initializers();
  for (const auto& t : g_.inputs) set_type(gp_->add_input(), g_.value(t));
  for (const auto& t : g_.outputs) set_type(gp_->add_output(), g_.value(t));
  std::unordered_set<std::string> io(g_.inputs.begin(), g_.inputs.end());
  io.insert(g_.outputs.begin(), g_.outputs.end());
  for (const auto& n : g_.nodes) {
    write_node(n);
    for (const auto& o : n.outputs)
      if (!io.count(o) && g_.values.count(o)) set_type(gp_->add_value_info(), g_.value(o));
  }
  return m;
}

void Writer::write_node(const Node& n) {
  if (n.op == "Softmax" && n.i("coerce_2d", 0) != 0) return write_softmax_2d(n);
  std::vector<std::string> inputs = n.inputs;
  if (n.op == "Clip") {
    float lo = n.f("min", -INFINITY), hi = n.f("max", INFINITY);
    inputs.push_back(std::isinf(lo) ? "" : add_scalar(n.name + "_min", lo));
    inputs.push_back(std::isinf(hi) ? "" : add_scalar(n.name + "_max", hi));
    while (inputs.back().empty()) inputs.pop_back();
  } else if (n.op == "Pad") {
    TensorData pads;
    pads.dtype = DType::kInt64;
    pads.i = n.ints("pads");
    pads.shape = {static_cast<int64_t>(pads.i.size())};
    inputs.push_back(add_initializer(n.name + "_pads", pads));
    inputs.push_back(add_scalar(n.name + "_value", n.f("value", 0.0f)));
  } else if (n.op == "Reshape") {
    inputs.push_back(add_shape(n.name + "_shape", n.ints("shape")));
  } else if (is_bf16_layer(n)) {  // the input rounded to bfloat16 by a Cast pair
    inputs[0] = write_cast(n.name + "_input_to_float",
                           write_cast(n.name + "_input_to_bf16", inputs[0], DType::kBFloat16),
                           DType::kFloat);
  }
  auto* p = add_node(n.op, n.name, inputs, n.outputs);
  if (n.op == "Conv") {
    const Shape& w = g_.value(n.inputs[1]).shape;
    set_attr(p, "kernel_shape", std::vector<int64_t>(w.begin() + 2, w.end()));
  }
  if (n.op == "Gemm") set_attr(p, "transB", int64_t{1});
  auto it = written_attrs().find(n.op);
  if (it == written_attrs().end()) return;
  for (const auto& key : it->second)
    if (n.has(key)) set_attr(p, key, n.attrs.at(key));
}

// Softmax over the block of dims [axis, rank) (opset < 13 semantics), in opset-13 spelling.
void Writer::write_softmax_2d(const Node& n) {
  const Shape& x = g_.value(n.inputs[0]).shape;
  const auto axis = static_cast<size_t>(n.i("axis"));
  Shape mid(x.begin(), x.begin() + axis);
  int64_t block = 1;
  for (size_t k = axis; k < x.size(); ++k) block *= x[k];
  mid.push_back(block);
  std::string flat = fresh(n.outputs[0] + "_2d"), soft = fresh(n.outputs[0] + "_2d_softmax");
  add_node("Reshape", fresh(n.name + "_to_2d"), {n.inputs[0], add_shape(n.name + "_2d_shape", mid)},
           {flat});
  auto* p = add_node("Softmax", n.name, {flat}, {soft});
  set_attr(p, "axis", static_cast<int64_t>(axis));
  add_node("Reshape", fresh(n.name + "_from_2d"), {soft, add_shape(n.name + "_shape", x)},
           {n.outputs[0]});
}

}  // namespace

std::string to_onnx_bytes(const Graph& g) {
  onnx::ModelProto m = Writer(g).write();
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    throw ModelError(g.source, "",
                     std::string("the written ONNX model fails the checker: ") + e.what());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    throw ModelError(g.source, "", "cannot serialize the ONNX model (larger than 2 GB?)");
  return bytes;
}

void save_onnx(const Graph& g, const std::string& path) {
  write_file_atomically(path, to_onnx_bytes(g));
}

}  // namespace autocompress
