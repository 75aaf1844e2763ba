// Small helpers shared by the model tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <typeinfo>

#include "model/graph.hpp"
#include "model/onnx_io.hpp"
#include "tests/model/onnx_builder.hpp"

namespace ac_test {

// Runs f and returns the message of the exception of type E it throws; a failure when f throws
// nothing or another type.
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected " << typeid(E).name() << ", got " << typeid(e).name() << ": "
                  << e.what();
    return "<wrong exception type>";
  }
  ADD_FAILURE() << "expected " << typeid(E).name() << ", nothing was thrown";
  return "<no exception>";
}

inline autocompress::Graph load(const OnnxBuilder& b, const std::string& name = "test.onnx") {
  return autocompress::load_onnx_bytes(b.bytes(), name);
}

// The nodes of an op type, in schedule order.
inline std::vector<const autocompress::Node*> nodes_of(const autocompress::Graph& g,
                                                       const std::string& op) {
  std::vector<const autocompress::Node*> r;
  for (const auto& n : g.nodes)
    if (n.op == op) r.push_back(&n);
  return r;
}

inline std::vector<std::string> ops_of(const autocompress::Graph& g) {
  std::vector<std::string> r;
  for (const auto& n : g.nodes) r.push_back(n.op);
  return r;
}

// Two graphs are the same IR: nodes (names, ops, tensors, attributes), graph inputs and outputs,
// metadata, initializers (types, shapes, values) and every tensor's shape and type.
inline void expect_same_graph(const autocompress::Graph& a, const autocompress::Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t k = 0; k < a.nodes.size(); ++k) {
    const autocompress::Node &x = a.nodes[k], &y = b.nodes[k];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op, y.op) << x.name;
    EXPECT_EQ(x.inputs, y.inputs) << x.name;
    EXPECT_EQ(x.outputs, y.outputs) << x.name;
    EXPECT_EQ(x.attrs, y.attrs) << x.name;
    for (const auto& t : x.outputs) EXPECT_EQ(a.value(t).shape, b.value(t).shape) << t;
  }
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.initializers.size(), b.initializers.size());
  for (const auto& [name, t] : a.initializers) {
    ASSERT_TRUE(b.is_initializer(name)) << name;
    EXPECT_EQ(t.shape, b.initializer(name).shape) << name;
    EXPECT_EQ(t.f, b.initializer(name).f) << name;
    EXPECT_EQ(t.i, b.initializer(name).i) << name;
    EXPECT_EQ(t.dtype, b.initializer(name).dtype) << name;
  }
  for (const auto& [name, v] : a.values) {
    ASSERT_TRUE(b.values.count(name)) << name;
    EXPECT_EQ(v.shape, b.value(name).shape) << name;
    EXPECT_EQ(v.dtype, b.value(name).dtype) << name;
  }
}

}  // namespace ac_test
