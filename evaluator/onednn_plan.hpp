// A compiled oneDNN network for one batch size. PlanBuilder holds the activation tensors and the
// steps (primitives, reorders, fills) while the op builders (onednn_layers, onednn_ops) lower the
// fused ops one by one; Plan then lays the tensors out in one arena planned by liveness
// (memory_planner) and executes the steps. Internal to the oneDNN evaluator.
#pragma once

#include <climits>
#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "evaluator/fusion.hpp"
#include "model/graph.hpp"

namespace autocompress::onednn {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::primitive_attr;
using dnnl::prop_kind;
using tag = memory::format_tag;
using dt = memory::data_type;

memory::dims to_dims(const Shape& s);
// A plain (row-major) layout of rank 1..6; RuntimeError for other ranks.
memory::desc plain_md(const memory::dims& d, dt t = dt::f32);
// The same layout holding another data type of the same rank (u8 <-> s8 views, f32 -> u8).
memory::desc with_type(memory::desc md, dt t);
dt to_dt(DType t);

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

// The tensors and steps of a plan being built, and the helpers every op builder uses. Steps
// that are functions (fills, plain loops) keep a reference to it: it must not move once built.
struct PlanBuilder {
  PlanBuilder(const Graph& graph, const std::vector<FusedOp>& fused, const dnnl::engine& engine,
              int64_t batch_size);
  PlanBuilder(const PlanBuilder&) = delete;
  PlanBuilder& operator=(const PlanBuilder&) = delete;

  int add(const memory::desc& md) {
    TensorRec r;
    r.md = md;
    tensors.push_back(std::move(r));
    return static_cast<int>(tensors.size()) - 1;
  }
  int alias(int base, const memory::desc& md, size_t byte_offset = 0) {
    int id = add(md);
    tensors[id].alias = base;
    tensors[id].alias_offset = byte_offset;
    return id;
  }
  int id(const std::string& name) const;
  memory::dims dims_of(const std::string& name) const {
    return to_dims(with_batch(g.value(name).shape, batch));
  }
  std::string current_node() const {
    return op_index < ops.size() ? ops[op_index].node->name : "(outputs)";
  }
  void emit(const std::string& kind, dnnl::primitive p, std::vector<std::pair<int, int>> targs,
            std::unordered_map<int, memory> fixed = {}) {
    steps.push_back({current_node(), kind, std::move(p), std::move(targs), std::move(fixed), {}});
  }
  // Tensor t in layout `want`: t itself, or a reorder of it (made once per layout).
  int as_layout(int t, const memory::desc& want);
  int as_plain(int t) { return as_layout(t, plain_md(tensors[t].md.dims())); }
  memory constant(const std::vector<float>& v, const memory::desc& md);
  memory constant(const std::string& name, const memory::dims& d) {
    return constant(g.initializer(name).f, plain_md(d));
  }
  // The id of integer tensor q in its integer type (a graph input arrives as float32).
  int qid(const QuantTensor& q) {
    const int t = id(q.name);
    const dt want = to_dt(q.dtype);
    return tensors[t].md.data_type() == want ? t : as_layout(t, with_type(tensors[t].md, want));
  }
  int root(int t) const {
    while (tensors[t].alias >= 0) t = tensors[t].alias;
    return t;
  }

  const Graph& g;
  const std::vector<FusedOp>& ops;
  dnnl::engine eng;
  int64_t batch;
  size_t op_index = 0;  // the op being built
  std::vector<TensorRec> tensors;
  std::unordered_map<std::string, int> ids;
  std::vector<std::tuple<int, memory::desc, int>> reorders;  // (src, layout) -> copy
  std::vector<Step> steps;
  std::unordered_map<std::string, size_t> last_read;  // tensor name -> last op reading it
};

// A compiled network for one batch size: steps + an activation arena planned by liveness.
class Plan {
 public:
  Plan(const Graph& g, const std::vector<FusedOp>& ops, const dnnl::engine& eng, int64_t batch);
  // With `step_seconds`, waits after every step and records its wall time (profiling only).
  void execute(dnnl::stream& s, const std::vector<const float*>& in, const std::vector<float*>& out,
               std::vector<double>* step_seconds = nullptr);
  const std::vector<Step>& steps() const { return pb_.steps; }
  size_t arena_bytes() const { return arena_size_; }

 private:
  void plan_memory();
  void bind_memory();

  PlanBuilder pb_;
  std::vector<int> inputs_, outputs_;
  std::unordered_map<int, std::vector<int>> views_;  // external tensor -> tensors on its buffer
  std::vector<uint8_t> arena_storage_;
  uint8_t* arena_ = nullptr;
  size_t arena_size_ = 0;
};

}  // namespace autocompress::onednn
