// The state of one ONNX load (the IR being built, the constants known so far, aliases, use
// counts, the node being read) and the accessors every stage of the loader reads it through:
// structure, canonicalization, quantization and constant folding (onnx_load.cpp ties them).
#pragma once

#include <onnx/onnx_pb.h>

#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"
#include "model/graph.hpp"
#include "model/onnx_io.hpp"

namespace autocompress::onnx_loader {

// Value of the batch dimension inside folded int64 shape tensors (the Shape of an activation).
// With LoadOptions::symbolic_batch false no kBatch and so no sentinel ever appears.
constexpr int64_t kBatchSentinel = std::numeric_limits<int64_t>::min();

bool has_sentinel(const TensorData& t);

// Attribute access with defaults.
class Attrs {
 public:
  explicit Attrs(const onnx::NodeProto& n) : n_(n) {}
  const onnx::AttributeProto* find(const std::string& key) const {
    for (const auto& a : n_.attribute())
      if (a.name() == key) return &a;
    return nullptr;
  }
  bool has(const std::string& key) const { return find(key) != nullptr; }
  int64_t i(const std::string& key, int64_t def) const {
    auto* a = find(key);
    return a ? a->i() : def;
  }
  float f(const std::string& key, float def) const {
    auto* a = find(key);
    return a ? a->f() : def;
  }
  std::string s(const std::string& key, const std::string& def) const {
    auto* a = find(key);
    return a ? a->s() : def;
  }
  std::vector<int64_t> ints(const std::string& key, std::vector<int64_t> def = {}) const {
    auto* a = find(key);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : def;
  }

 private:
  const onnx::NodeProto& n_;
};

// The name a node is reported by: its ONNX name, or "<op>#<index>" when it has none.
std::string display_name(const onnx::NodeProto& p, size_t index);

struct LoadContext {
  LoadContext(std::string file_name, const LoadOptions& options)
      : file(std::move(file_name)), symbolic_batch(options.symbolic_batch) {}

  std::string file;
  bool symbolic_batch = true;  // LoadOptions::symbolic_batch
  int64_t opset = 0;
  int64_t declared_batch = -1;  // concrete dim 0 the file declared for the first input, if any
  Graph g;
  std::unordered_map<std::string, TensorData> consts;
  std::unordered_map<std::string, std::string> alias;
  std::unordered_map<std::string, int> uses;  // consumers (resolved names) + graph outputs
  std::unordered_set<std::string> names;      // every tensor name, for fresh()
  std::vector<Node> nodes;
  std::vector<std::string> onnx_names;  // the ONNX name of each node in nodes
  std::unordered_map<std::string, size_t> producer;
  std::unordered_set<size_t> matmul_gemms;  // Gemms made from a MatMul, still without bias
  // bf16 Cast pairs (graph.hpp): outputs of the Cast(to=BFLOAT16) and of the Cast(to=FLOAT) after
  // it, which only Conv / Gemm / MatMul read as their input
  std::unordered_set<std::string> bf16_casts, bf16_inputs;
  bool ours = false;  // written by autocompress: layer metadata is authoritative
  const onnx::NodeProto* cur = nullptr;
  std::string cur_name;

  // messages, naming the file and the node being read
  [[noreturn]] void unsupported(const std::string& what) const {
    throw UnsupportedError(file, cur_name, what);
  }
  [[noreturn]] void malformed(const std::string& what) const {
    throw ModelError(file, cur_name, what);
  }

  // tensors
  std::string resolve(const std::string& t) const {
    std::string r = t;
    for (auto it = alias.find(r); it != alias.end(); it = alias.find(r)) r = it->second;
    return r;
  }
  std::string in(const onnx::NodeProto& p, int k) const {
    return k < p.input_size() ? resolve(p.input(k)) : std::string();
  }
  const TensorData* constant(const std::string& t) const {
    auto it = consts.find(t);
    return it == consts.end() ? nullptr : &it->second;
  }
  const TensorData& need_const(const onnx::NodeProto& p, int k, const std::string& role) const;
  std::vector<int64_t> const_ints(const onnx::NodeProto& p, int k, const std::string& role) const;
  float const_scalar(const onnx::NodeProto& p, int k, const std::string& role) const;
  const Shape& shape_of(const std::string& t) const;
  std::string activation(const onnx::NodeProto& p, int k) const;
  // Axes from the attribute (before `input` became the carrier) or from a constant input;
  // normalized to [0, rank), sorted and unique. Empty when absent.
  std::vector<int64_t> axes_of(const onnx::NodeProto& p, int input, int64_t rank,
                               bool required) const;
  bool used(const std::string& t) const {
    auto it = uses.find(resolve(t));
    return !t.empty() && it != uses.end() && it->second > 0;
  }
  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int k = 1; names.count(n); ++k) n = base + "_" + std::to_string(k);
    names.insert(n);
    return n;
  }
  std::string add_const(const std::string& base, TensorData t) {
    std::string n = fresh(base);
    consts[n] = std::move(t);
    return n;
  }
  // Appends n (its constant inputs become initializers) and records its output shapes and types.
  // named: the node keeps the ONNX node's name.
  void emit(Node n, bool named = true);
  void rename_tensor(const std::string& from, const std::string& to);
};

}  // namespace autocompress::onnx_loader
