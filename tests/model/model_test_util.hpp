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

}  // namespace ac_test
