// Builds small ONNX models in tests with the onnx protobuf C++ API. Generic on purpose: any test
// that needs an ONNX file (loader, evaluator, compressors) can describe it in a few lines:
//
//   OnnxBuilder b(13);                       // opset 13, ir_version 8
//   b.input("x", {kSym, 3, 8, 8})            // kSym: the symbolic batch dim "N"
//    .initializer("w", {4, 3, 3, 3}, ramp(108))
//    .output("y");
//   b.node("Conv", {"x", "w"}, {"y"}, "conv1").attr("pads", {1, 1, 1, 1});
//   Graph g = load_onnx_bytes(b.bytes(), "test.onnx");
//
// Link the test with the CMake targets onnx and onnx_proto.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ac_test {

// Dimension written as the symbolic dim "N" (the batch) in OnnxBuilder shapes.
inline constexpr int64_t kSym = -1;

// Deterministic test values: start, start + step, ... (wrapping every `period` values).
inline std::vector<float> ramp(int64_t n, float start = 0.1f, float step = 0.01f,
                               int64_t period = 97) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) v[k] = start + step * static_cast<float>(k % period);
  return v;
}

inline int64_t count_of(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

inline onnx::TensorProto float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                      const std::vector<float>& values) {
  if (count_of(dims) != static_cast<int64_t>(values.size()))
    throw std::invalid_argument("float_tensor '" + name + "': value count does not match dims");
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  std::string raw(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  t.set_raw_data(raw);
  return t;
}

// An integer tensor of `type` (INT8, UINT8, INT32), values in int32_data as ONNX stores them.
inline onnx::TensorProto small_int_tensor(const std::string& name, int32_t type,
                                          const std::vector<int64_t>& dims,
                                          const std::vector<int64_t>& values) {
  if (count_of(dims) != static_cast<int64_t>(values.size()))
    throw std::invalid_argument("small_int_tensor '" + name + "': value count does not match dims");
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  for (int64_t v : values) t.add_int32_data(static_cast<int32_t>(v));
  return t;
}

inline onnx::TensorProto int64_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                      const std::vector<int64_t>& values) {
  if (count_of(dims) != static_cast<int64_t>(values.size()))
    throw std::invalid_argument("int64_tensor '" + name + "': value count does not match dims");
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t.add_dims(d);
  for (int64_t v : values) t.add_int64_data(v);
  return t;
}

// Adds attributes to a node of an OnnxBuilder.
class NodeBuilder {
 public:
  explicit NodeBuilder(onnx::NodeProto* p) : p_(p) {}
  NodeBuilder& attr(const std::string& key, int64_t v) {
    auto* a = add(key, onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  NodeBuilder& attr(const std::string& key, int v) { return attr(key, static_cast<int64_t>(v)); }
  NodeBuilder& attr(const std::string& key, float v) {
    add(key, onnx::AttributeProto::FLOAT)->set_f(v);
    return *this;
  }
  NodeBuilder& attr(const std::string& key, double v) { return attr(key, static_cast<float>(v)); }
  NodeBuilder& attr(const std::string& key, const std::string& v) {
    add(key, onnx::AttributeProto::STRING)->set_s(v);
    return *this;
  }
  NodeBuilder& attr(const std::string& key, const char* v) { return attr(key, std::string(v)); }
  NodeBuilder& attr(const std::string& key, const std::vector<int64_t>& v) {
    auto* a = add(key, onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
  NodeBuilder& attr(const std::string& key, std::initializer_list<int64_t> v) {
    return attr(key, std::vector<int64_t>(v));
  }
  NodeBuilder& attr(const std::string& key, const std::vector<float>& v) {
    auto* a = add(key, onnx::AttributeProto::FLOATS);
    for (float x : v) a->add_floats(x);
    return *this;
  }
  NodeBuilder& attr(const std::string& key, const onnx::TensorProto& t) {
    *add(key, onnx::AttributeProto::TENSOR)->mutable_t() = t;
    return *this;
  }
  onnx::NodeProto& proto() { return *p_; }

 private:
  onnx::NodeProto* p_;
  onnx::AttributeProto* add(const std::string& key, onnx::AttributeProto::AttributeType type) {
    auto* a = p_->add_attribute();
    a->set_name(key);
    a->set_type(type);
    return a;
  }
};

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int64_t opset = 13, int64_t ir_version = 8,
                       const std::string& name = "test") {
    m_.set_ir_version(ir_version);
    m_.set_producer_name("autocompress-tests");
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m_.mutable_graph()->set_name(name);
  }

  // A float32 (or `elem_type`) graph input; kSym dims are written as dim_param "N".
  OnnxBuilder& input(const std::string& name, const std::vector<int64_t>& dims,
                     int32_t elem_type = onnx::TensorProto::FLOAT) {
    typed(m_.mutable_graph()->add_input(), name, elem_type, &dims);
    return *this;
  }
  // A graph output without declared dims (the checker wants a shape field: it is left empty,
  // which the autocompress loader reads as "not declared").
  OnnxBuilder& output(const std::string& name, int32_t elem_type = onnx::TensorProto::FLOAT) {
    typed(m_.mutable_graph()->add_output(), name, elem_type, nullptr);
    return *this;
  }
  // A graph output with a declared shape.
  OnnxBuilder& output(const std::string& name, const std::vector<int64_t>& dims,
                      int32_t elem_type = onnx::TensorProto::FLOAT) {
    typed(m_.mutable_graph()->add_output(), name, elem_type, &dims);
    return *this;
  }
  OnnxBuilder& initializer(const std::string& name, const std::vector<int64_t>& dims,
                           const std::vector<float>& values) {
    *m_.mutable_graph()->add_initializer() = float_tensor(name, dims, values);
    return *this;
  }
  OnnxBuilder& initializer_i64(const std::string& name, const std::vector<int64_t>& dims,
                               const std::vector<int64_t>& values) {
    *m_.mutable_graph()->add_initializer() = int64_tensor(name, dims, values);
    return *this;
  }
  OnnxBuilder& initializer(const onnx::TensorProto& t) {
    *m_.mutable_graph()->add_initializer() = t;
    return *this;
  }
  // A node; "" in `inputs` marks an absent optional input.
  NodeBuilder node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<std::string>& outputs, const std::string& name = "",
                   const std::string& domain = "") {
    auto* p = m_.mutable_graph()->add_node();
    p->set_op_type(op);
    if (!name.empty()) p->set_name(name);
    if (!domain.empty()) p->set_domain(domain);
    for (const auto& t : inputs) p->add_input(t);
    for (const auto& t : outputs) p->add_output(t);
    return NodeBuilder(p);
  }
  OnnxBuilder& metadata(const std::string& key, const std::string& value) {
    auto* e = m_.add_metadata_props();
    e->set_key(key);
    e->set_value(value);
    return *this;
  }

  onnx::ModelProto& model() { return m_; }
  const onnx::ModelProto& model() const { return m_; }
  std::string bytes() const {
    std::string s;
    if (!m_.SerializeToString(&s)) throw std::runtime_error("OnnxBuilder: serialization failed");
    return s;
  }
  void save(const std::string& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes();
    if (!out) throw std::runtime_error("OnnxBuilder: cannot write " + path);
  }

 private:
  onnx::ModelProto m_;

  static void typed(onnx::ValueInfoProto* v, const std::string& name, int32_t elem_type,
                    const std::vector<int64_t>* dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    if (!dims) return;
    for (int64_t d : *dims) {
      if (d == kSym)
        shape->add_dim()->set_dim_param("N");
      else
        shape->add_dim()->set_dim_value(d);
    }
  }
};

// The ONNX backend test suite declares weights as graph inputs and stores their values in
// test_data_set_*/input_k.pb. This turns the named inputs into initializers with those values,
// so that a loader which needs constant weights can read the model.
inline void bake_inputs(onnx::ModelProto& m,
                        const std::map<std::string, onnx::TensorProto>& values) {
  auto* g = m.mutable_graph();
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
  for (const auto& v : g->input()) {
    auto it = values.find(v.name());
    if (it == values.end()) {
      *kept.Add() = v;
      continue;
    }
    onnx::TensorProto t = it->second;
    t.set_name(v.name());
    *g->add_initializer() = t;
  }
  g->mutable_input()->Swap(&kept);
}

}  // namespace ac_test
