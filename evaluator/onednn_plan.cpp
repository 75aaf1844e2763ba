#include "evaluator/onednn_plan.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "common/error.hpp"
#include "evaluator/memory_planner.hpp"
#include "evaluator/onednn_ops.hpp"

namespace autocompress::onednn {
namespace {

// The alignment of every arena buffer (and of the arena).
constexpr size_t kAlign = 64;

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

}  // namespace

memory::dims to_dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

memory::desc plain_md(const memory::dims& d, dt t) {
  return memory::desc(d, t, plain_tag(d.size()));
}

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

PlanBuilder::PlanBuilder(const Graph& graph, const std::vector<FusedOp>& fused,
                         const dnnl::engine& engine, int64_t batch_size)
    : g(graph), ops(fused), eng(engine), batch(batch_size) {
  for (size_t k = 0; k < ops.size(); ++k)
    for (const auto& t : ops[k].reads) last_read[t] = k;
}

int PlanBuilder::id(const std::string& name) const {
  auto it = ids.find(name);
  if (it == ids.end()) throw RuntimeError("oneDNN plan: tensor '" + name + "' not computed");
  return it->second;
}

int PlanBuilder::as_layout(int t, const memory::desc& want) {
  if (tensors[t].md == want) return t;
  for (const auto& [src, md, copy] : reorders)
    if (src == t && md == want) return copy;
  int copy = add(want);
  auto pd = dnnl::reorder::primitive_desc(eng, tensors[t].md, eng, want);
  emit("reorder", dnnl::reorder(pd), {{DNNL_ARG_FROM, t}, {DNNL_ARG_TO, copy}});
  reorders.emplace_back(t, want, copy);
  return copy;
}

memory PlanBuilder::constant(const std::vector<float>& v, const memory::desc& md) {
  memory m(md, eng);
  if (v.size() * sizeof(float) != md.get_size())
    throw RuntimeError("constant of " + std::to_string(v.size()) + " values for a buffer of " +
                       std::to_string(md.get_size()) + " bytes");
  std::memcpy(m.get_data_handle(), v.data(), md.get_size());
  return m;
}

Plan::Plan(const Graph& g, const std::vector<FusedOp>& ops, const dnnl::engine& eng, int64_t batch)
    : pb_(g, ops, eng, batch) {
  for (const auto& name : g.inputs) {
    int t = pb_.add(plain_md(pb_.dims_of(name)));
    pb_.tensors[t].external = true;
    pb_.ids[name] = t;
    inputs_.push_back(t);
  }
  for (pb_.op_index = 0; pb_.op_index < ops.size(); ++pb_.op_index) {
    const FusedOp& op = ops[pb_.op_index];
    try {
      build_op(pb_, op);
    } catch (const dnnl::error& e) {
      throw RuntimeError("oneDNN could not build node '" + op.node->name + "' (" + op.node->op +
                         "): " + e.what());
    }
  }
  for (const auto& name : g.outputs) {
    int src = pb_.id(name);
    int t = pb_.add(plain_md(pb_.dims_of(name)));
    pb_.tensors[t].external = true;
    auto pd = dnnl::reorder::primitive_desc(eng, pb_.tensors[src].md, eng, pb_.tensors[t].md);
    pb_.emit("reorder", dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, t}});
    outputs_.push_back(t);
  }
  plan_memory();
}

// Every root tensor lives from its first to its last step; plan_arena gives it its bytes.
void Plan::plan_memory() {
  std::vector<TensorRec>& tensors = pb_.tensors;
  for (size_t s = 0; s < pb_.steps.size(); ++s)
    for (const auto& [arg, t] : pb_.steps[s].targs) {
      int r = pb_.root(t);
      tensors[r].first = std::min(tensors[r].first, int(s));
      tensors[r].last = std::max(tensors[r].last, int(s));
    }
  std::vector<int> roots;
  std::vector<BufferLifetime> lifetimes;
  for (size_t t = 0; t < tensors.size(); ++t)
    if (tensors[t].alias < 0 && !tensors[t].external && tensors[t].last >= 0) {
      roots.push_back(int(t));
      lifetimes.push_back({tensors[t].md.get_size(), tensors[t].first, tensors[t].last});
    }
  const ArenaPlan arena = plan_arena(lifetimes, kAlign);
  for (size_t k = 0; k < roots.size(); ++k) tensors[roots[k]].offset = arena.offsets[k];
  arena_size_ = arena.size;
  bind_memory();
}

// The arena allocated; every tensor's memory on its bytes (external ones on the user's buffer,
// set per run); every step's arguments resolved.
void Plan::bind_memory() {
  std::vector<TensorRec>& tensors = pb_.tensors;
  arena_storage_.resize(arena_size_ + kAlign);
  arena_ = reinterpret_cast<uint8_t*>(
      (reinterpret_cast<uintptr_t>(arena_storage_.data()) + kAlign - 1) / kAlign * kAlign);
  for (size_t t = 0; t < tensors.size(); ++t) {
    int r = pb_.root(int(t));
    if (tensors[r].external) {
      tensors[t].mem = memory(tensors[t].md, pb_.eng, DNNL_MEMORY_NONE);
      views_[r].push_back(int(t));
      continue;
    }
    size_t off = tensors[r].offset;
    for (int a = int(t); a != r; a = tensors[a].alias) off += tensors[a].alias_offset;
    tensors[t].mem = memory(tensors[t].md, pb_.eng, arena_ + off);
  }
  for (auto& s : pb_.steps)
    for (const auto& [arg, t] : s.targs) s.args[arg] = tensors[t].mem;
}

void Plan::execute(dnnl::stream& s, const std::vector<const float*>& in,
                   const std::vector<float*>& out, std::vector<double>* step_seconds) {
  auto handle = [&](int t, void* p) {
    for (int v : views_[t]) pb_.tensors[v].mem.set_data_handle(p);
  };
  for (size_t k = 0; k < inputs_.size(); ++k) handle(inputs_[k], const_cast<float*>(in[k]));
  for (size_t k = 0; k < outputs_.size(); ++k) handle(outputs_[k], out[k]);
  if (step_seconds) step_seconds->assign(pb_.steps.size(), 0.0);
  for (size_t k = 0; k < pb_.steps.size(); ++k) {
    Step& step = pb_.steps[k];
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

}  // namespace autocompress::onednn
