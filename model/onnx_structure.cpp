#include "model/onnx_structure.hpp"

#include <algorithm>
#include <queue>
#include <set>

#include "model/onnx_tensor.hpp"

namespace autocompress::onnx_loader {
namespace {

using TP = onnx::TensorProto;

void compact(LoadContext& ctx, const std::vector<bool>& drop) {
  std::vector<Node> nodes;
  std::vector<std::string> names;
  for (size_t k = 0; k < ctx.nodes.size(); ++k)
    if (!drop[k]) {
      nodes.push_back(std::move(ctx.nodes[k]));
      names.push_back(ctx.onnx_names[k]);
    }
  ctx.nodes = std::move(nodes);
  ctx.onnx_names = std::move(names);
  ctx.producer.clear();
  for (size_t k = 0; k < ctx.nodes.size(); ++k)
    for (const auto& o : ctx.nodes[k].outputs) ctx.producer[o] = k;
}

// The shape of a graph input exactly as declared (LoadOptions::symbolic_batch false).
Shape concrete_input_shape(const LoadContext& ctx, const onnx::ValueInfoProto& v) {
  Shape s;
  const auto& shape = v.type().tensor_type().shape();
  for (int d = 0; d < shape.dim_size(); ++d) {
    const auto& dim = shape.dim(d);
    if (dim.has_dim_value() && dim.dim_value() >= 0) {
      s.push_back(dim.dim_value());
      continue;
    }
    std::string what = "dim " + std::to_string(d) + " of input '" + v.name() + "' is symbolic";
    if (dim.has_dim_param() && !dim.dim_param().empty()) what += " ('" + dim.dim_param() + "')";
    throw UnsupportedError(ctx.file, "",
                           what + (d == 0 ? "; load with a symbolic batch or give concrete shapes"
                                          : "; give concrete shapes (with a symbolic batch only "
                                            "dim 0 may be symbolic)"));
  }
  return s;
}

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string supported_list() {
  std::string r;
  for (const auto& op : supported_onnx_ops()) r += (r.empty() ? "" : ", ") + op;
  return r;
}

}  // namespace

void check_opset(LoadContext& ctx, const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") ctx.opset = o.version();
  if (ctx.opset == 0) throw ModelError(ctx.file, "", "the model imports no default-domain opset");
  if (ctx.opset < 9 || ctx.opset > 17)
    throw UnsupportedError(
        ctx.file, "",
        "opset " + std::to_string(ctx.opset) + " is not supported (supported: opsets 9 to 17)");
}

void check_ops(const LoadContext& ctx, const onnx::GraphProto& gp) {
  const auto& ops = supported_onnx_ops();
  for (int k = 0; k < gp.node_size(); ++k) {
    const auto& p = gp.node(k);
    bool default_domain = p.domain().empty() || p.domain() == "ai.onnx";
    if (default_domain && std::binary_search(ops.begin(), ops.end(), p.op_type())) continue;
    std::string op = default_domain ? p.op_type() : p.domain() + "." + p.op_type();
    throw UnsupportedError(ctx.file, display_name(p, k),
                           "op '" + op + "' is not supported; supported ops: " + supported_list());
  }
}

void sort_nodes(const LoadContext& ctx, onnx::GraphProto& gp) {
  std::unordered_set<std::string> known;
  for (const auto& t : gp.initializer()) known.insert(t.name());
  for (const auto& v : gp.input()) known.insert(v.name());
  std::unordered_map<std::string, int> producer;
  for (int k = 0; k < gp.node_size(); ++k)
    for (const auto& o : gp.node(k).output()) {
      if (o.empty()) continue;
      if (known.count(o) || producer.count(o))
        throw ModelError(ctx.file, display_name(gp.node(k), k),
                         "output '" + o + "' is already defined elsewhere in the graph");
      producer[o] = k;
    }
  std::vector<std::vector<int>> next(gp.node_size());
  std::vector<int> pending(gp.node_size(), 0);
  for (int k = 0; k < gp.node_size(); ++k)
    for (const auto& t : gp.node(k).input()) {
      if (t.empty() || known.count(t)) continue;
      auto it = producer.find(t);
      if (it == producer.end())
        throw ModelError(ctx.file, display_name(gp.node(k), k),
                         "input '" + t +
                             "' is neither an initializer, a graph input nor the output of an "
                             "earlier node");
      next[it->second].push_back(k);
      ++pending[k];
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int k = 0; k < gp.node_size(); ++k)
    if (pending[k] == 0) ready.push(k);
  std::vector<int> order;
  while (!ready.empty()) {
    int k = ready.top();
    ready.pop();
    order.push_back(k);
    for (int j : next[k])
      if (--pending[j] == 0) ready.push(j);
  }
  if (order.size() != static_cast<size_t>(gp.node_size())) {
    int k = 0;
    while (pending[k] == 0) ++k;
    throw ModelError(ctx.file, display_name(gp.node(k), k),
                     "the graph has a cycle through this node");
  }
  if (std::is_sorted(order.begin(), order.end())) return;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> sorted;
  for (int k : order) *sorted.Add() = gp.node(k);
  gp.mutable_node()->Swap(&sorted);
}

void read_initializers(LoadContext& ctx, const onnx::GraphProto& gp) {
  if (gp.sparse_initializer_size() > 0)
    throw UnsupportedError(ctx.file, "", "sparse initializers are not supported");
  for (const auto& t : gp.initializer()) {
    ctx.consts[t.name()] = decode_tensor(t, ctx.file);
    ctx.names.insert(t.name());
  }
  for (const auto& p : gp.node())
    for (const auto& o : p.output()) ctx.names.insert(o);
}

void read_inputs(LoadContext& ctx, const onnx::GraphProto& gp) {
  bool first = true;
  size_t first_rank = 0;
  for (const auto& v : gp.input()) {
    if (ctx.consts.count(v.name())) continue;  // an initializer listed as input: a constant
    ctx.names.insert(v.name());
    const auto& tt = v.type().tensor_type();
    if (!v.type().has_tensor_type())
      throw UnsupportedError(ctx.file, "", "graph input '" + v.name() + "' is not a tensor");
    const DType type = static_cast<DType>(tt.elem_type());
    if (type != DType::kFloat && type != DType::kUInt8 && type != DType::kInt8)
      throw UnsupportedError(ctx.file, "",
                             "graph input '" + v.name() + "' has data type " +
                                 TP::DataType_Name(static_cast<TP::DataType>(tt.elem_type())) +
                                 "; inputs must be float32 (or uint8 / int8 for "
                                 "DequantizeLinear)");
    if (!tt.has_shape() || tt.shape().dim_size() == 0)
      throw UnsupportedError(
          ctx.file, "",
          "graph input '" + v.name() +
              (!tt.has_shape() ? "' has no static shape" : "' is a scalar (rank 0)") +
              (ctx.symbolic_batch ? " (needs at least a batch dim)"
                                  : "; inputs need at least one dimension"));
    if (!ctx.symbolic_batch) {
      ctx.g.inputs.push_back(v.name());
      ctx.g.values[v.name()] = ValueInfo{v.name(), type, concrete_input_shape(ctx, v)};
      continue;
    }
    Shape s;
    for (int d = 0; d < tt.shape().dim_size(); ++d) {
      const auto& dim = tt.shape().dim(d);
      bool symbolic = !dim.has_dim_value() || dim.dim_value() <= 0;
      if (symbolic && d > 0)
        throw UnsupportedError(ctx.file, "",
                               "graph input '" + v.name() + "' has symbolic dimension " +
                                   std::to_string(d) + " ('" + dim.dim_param() +
                                   "'); only dim 0 (the batch) may be symbolic");
      s.push_back(symbolic ? kBatch : dim.dim_value());
    }
    if (first) {
      ctx.declared_batch = s[0];
      first_rank = s.size();
      s[0] = kBatch;
      first = false;
    } else if (s.size() == first_rank && s[0] == ctx.declared_batch) {
      s[0] = kBatch;
    }
    ctx.g.inputs.push_back(v.name());
    ctx.g.values[v.name()] = ValueInfo{v.name(), type, s};
  }
  if (ctx.g.inputs.empty())
    throw UnsupportedError(ctx.file, "", "the graph has no (non-constant) input");
}

void count_uses(LoadContext& ctx, const onnx::GraphProto& gp) {
  for (const auto& p : gp.node())
    if ((p.op_type() == "Identity" || p.op_type() == "Dropout") && p.input_size() > 0 &&
        p.output_size() > 0)
      ctx.alias[p.output(0)] = p.input(0);
  for (const auto& p : gp.node()) {
    if (p.op_type() == "Identity" || p.op_type() == "Dropout") {
      for (int k = 1; k < p.input_size(); ++k) ++ctx.uses[ctx.resolve(p.input(k))];
      continue;
    }
    for (const auto& t : p.input())
      if (!t.empty()) ++ctx.uses[ctx.resolve(t)];
  }
  for (const auto& o : gp.output()) ++ctx.uses[ctx.resolve(o.name())];
  ctx.alias.clear();  // rebuilt in order by process(), with validation
}

// A bf16 Cast pair (graph.hpp): x -> Cast(to=BFLOAT16) -> Cast(to=FLOAT) -> only Conv / Gemm /
// MatMul inputs, the first Cast read only by the second. Such a layer computes on x rounded to
// bfloat16, which the IR says with precision "bf16"; any other Cast to bfloat16 is unsupported.
void find_bf16_pairs(LoadContext& ctx, const onnx::GraphProto& gp) {
  std::unordered_map<std::string, std::vector<std::pair<const onnx::NodeProto*, int>>> readers;
  std::unordered_map<std::string, const onnx::NodeProto*> producer;
  for (const auto& p : gp.node()) {
    for (int k = 0; k < p.input_size(); ++k) readers[p.input(k)].push_back({&p, k});
    for (const auto& o : p.output()) producer[o] = &p;
  }
  std::unordered_set<std::string> outputs;
  for (const auto& v : gp.output()) outputs.insert(v.name());
  auto cast_to = [](const onnx::NodeProto* p, int64_t to) {
    return p && p->op_type() == "Cast" && Attrs(*p).i("to", 0) == to;
  };
  for (const auto& p : gp.node()) {
    if (!cast_to(&p, TP::FLOAT) || p.input_size() != 1) continue;
    auto first = producer.find(p.input(0));
    if (first == producer.end() || !cast_to(first->second, TP::BFLOAT16)) continue;
    const auto& mid = readers[p.input(0)];
    const auto& users = readers[p.output(0)];
    bool layer_inputs = !users.empty() && mid.size() == 1 && !outputs.count(p.output(0)) &&
                        !outputs.count(p.input(0));
    for (const auto& [user, slot] : users)
      layer_inputs =
          layer_inputs && slot == 0 &&
          (user->op_type() == "Conv" || user->op_type() == "Gemm" || user->op_type() == "MatMul");
    if (!layer_inputs) continue;
    ctx.bf16_casts.insert(p.input(0));
    ctx.bf16_inputs.insert(p.output(0));
  }
}

void bind_outputs(LoadContext& ctx, const onnx::GraphProto& gp) {
  std::set<std::string> bound;
  for (const auto& v : gp.output()) {
    const std::string& o = v.name();
    std::string r = ctx.resolve(o);
    if (ctx.constant(r) && !ctx.producer.count(r))
      throw UnsupportedError(ctx.file, "",
                             "graph output '" + o + "' is a constant (nothing to compute)");
    if (!ctx.producer.count(r))
      throw UnsupportedError(
          ctx.file, "",
          "graph output '" + o + "' is the graph input '" + r + "' unchanged (nothing to compute)");
    if (r != o) {
      if (bound.count(r) || std::any_of(gp.output().begin(), gp.output().end(),
                                        [&](const auto& w) { return w.name() == r; }))
        throw UnsupportedError(ctx.file, "",
                               "graph outputs '" + o + "' and '" + r + "' are the same tensor");
      ctx.rename_tensor(r, o);
    }
    bound.insert(o);
    ctx.g.outputs.push_back(o);
  }
}

void remove_dead_nodes(LoadContext& ctx) {
  std::unordered_set<std::string> live(ctx.g.outputs.begin(), ctx.g.outputs.end());
  std::vector<bool> drop(ctx.nodes.size(), true);
  for (size_t k = ctx.nodes.size(); k-- > 0;) {
    for (const auto& o : ctx.nodes[k].outputs) drop[k] = drop[k] && !live.count(o);
    if (!drop[k])
      for (const auto& t : ctx.nodes[k].inputs) live.insert(t);
  }
  compact(ctx, drop);
}

// Reshape(x -> [d0..d(a-1), P]) -> Softmax(last axis) -> Reshape(back to x's shape) is the opset-13
// spelling of an opset < 13 Softmax at axis a (what save_onnx writes); fold it back.
void fuse_softmax_reshapes(LoadContext& ctx) {
  std::unordered_map<std::string, int> readers;
  for (const auto& n : ctx.nodes)
    for (const auto& t : n.inputs) ++readers[t];
  for (const auto& o : ctx.g.outputs) ++readers[o];
  std::unordered_map<std::string, size_t> reader_of;  // the reader of tensors read once
  for (size_t k = 0; k < ctx.nodes.size(); ++k)
    for (const auto& t : ctx.nodes[k].inputs) reader_of[t] = k;
  auto single = [&](const std::string& t) { return readers[t] == 1 && reader_of.count(t); };
  std::vector<bool> drop(ctx.nodes.size(), false);
  for (size_t k = 0; k < ctx.nodes.size(); ++k) {
    const Node& sm = ctx.nodes[k];
    if (sm.op != "Softmax" || sm.i("coerce_2d", 0) != 0) continue;
    auto before = ctx.producer.find(sm.inputs[0]);
    if (before == ctx.producer.end() || !single(sm.inputs[0]) || !single(sm.outputs[0])) continue;
    const Node& r1 = ctx.nodes[before->second];
    const size_t after = reader_of.at(sm.outputs[0]);
    const Node& r2 = ctx.nodes[after];
    if (r1.op != "Reshape" || r2.op != "Reshape") continue;
    const Shape& x = ctx.g.values.at(r1.inputs[0]).shape;
    const Shape& mid = ctx.g.values.at(sm.inputs[0]).shape;
    bool block = sm.i("axis") + 1 == static_cast<int64_t>(mid.size()) && mid.size() < x.size() &&
                 std::equal(mid.begin(), mid.end() - 1, x.begin());
    if (!block || ctx.g.values.at(r2.outputs[0]).shape != x) continue;
    Node fused = sm;
    fused.inputs = {r1.inputs[0]};
    fused.outputs = r2.outputs;
    fused.attrs["axis"] = static_cast<int64_t>(mid.size() - 1);
    fused.attrs["coerce_2d"] = int64_t{1};
    ctx.nodes[after] = std::move(fused);
    ctx.onnx_names[after] = ctx.onnx_names[k];
    drop[before->second] = drop[k] = true;
  }
  compact(ctx, drop);
}

void name_nodes(LoadContext& ctx) {
  std::unordered_map<std::string, int> count;
  for (const auto& n : ctx.onnx_names)
    if (!n.empty()) ++count[n];
  std::unordered_set<std::string> taken;
  for (const auto& n : ctx.onnx_names)
    if (!n.empty() && count[n] == 1) taken.insert(n);
  std::unordered_map<std::string, int> per_op;
  for (size_t k = 0; k < ctx.nodes.size(); ++k) {
    int index = per_op[ctx.nodes[k].op]++;
    const std::string& onnx_name = ctx.onnx_names[k];
    if (!onnx_name.empty() && count[onnx_name] == 1) {
      ctx.nodes[k].name = onnx_name;
      continue;
    }
    std::string base = lowercase(ctx.nodes[k].op) + "_" + std::to_string(index), name = base;
    for (int j = 1; taken.count(name); ++j) name = base + "_" + std::to_string(j);
    taken.insert(name);
    ctx.nodes[k].name = name;
  }
}

// Layer attributes the writer keeps in metadata_props (the ONNX checker rejects unknown node
// attributes): autocompress.precision.<layer> and autocompress.wbits.<layer>. In a file written
// by autocompress they are authoritative; in others a layer of the QDQ int8 pattern reads as
// precision "int8".
void read_layer_metadata(LoadContext& ctx) {
  auto layer = [&](const std::string& key, const std::string& name) -> Node& {
    for (auto& n : ctx.nodes)
      if (n.name == name && (n.op == "Conv" || n.op == "Gemm")) return n;
    throw ModelError(ctx.file, "",
                     "metadata '" + key + "' names no Conv/Gemm layer '" + name + "'");
  };
  static const std::string kPrecision = "autocompress.precision.", kWbits = "autocompress.wbits.";
  for (auto it = ctx.g.metadata.begin(); it != ctx.g.metadata.end();) {
    const std::string& key = it->first;
    const std::string& value = it->second;
    if (key.rfind(kPrecision, 0) == 0) {
      if (value != "fp32" && value != "bf16" && value != "int8")
        throw ModelError(ctx.file, "",
                         "metadata '" + key + "' is '" + value + "', expected fp32, bf16 or int8");
      layer(key, key.substr(kPrecision.size())).attrs["precision"] = value;
    } else if (key.rfind(kWbits, 0) == 0) {
      size_t used = 0;
      int64_t bits = 0;
      try {
        bits = std::stoll(value, &used);
      } catch (const std::exception&) {
      }
      if (used != value.size() || bits < 1 || bits > 32)
        throw ModelError(ctx.file, "",
                         "metadata '" + key + "' is '" + value + "', expected a bit width");
      layer(key, key.substr(kWbits.size())).attrs["wbits"] = bits;
    } else {
      ++it;
      continue;
    }
    it = ctx.g.metadata.erase(it);
  }
  if (ctx.ours) return;
  ctx.g.nodes = ctx.nodes;  // is_qdq_int8_layer reads the graph
  for (auto& n : ctx.nodes)
    if (!n.has("precision") && is_qdq_int8_layer(ctx.g, n))
      n.attrs["precision"] = std::string("int8");
  ctx.g.nodes.clear();
}

void finish_values(LoadContext& ctx) {
  std::unordered_set<std::string> referenced(ctx.g.inputs.begin(), ctx.g.inputs.end());
  for (const auto& n : ctx.nodes) {
    referenced.insert(n.inputs.begin(), n.inputs.end());
    referenced.insert(n.outputs.begin(), n.outputs.end());
  }
  std::erase_if(ctx.g.initializers, [&](const auto& kv) { return !referenced.count(kv.first); });
  std::erase_if(ctx.g.values, [&](const auto& kv) { return !referenced.count(kv.first); });
  ctx.g.values.erase("");
  ctx.g.nodes = std::move(ctx.nodes);
}

void check_declared_outputs(const LoadContext& ctx, const onnx::GraphProto& gp) {
  for (const auto& v : gp.output()) {
    const auto& tt = v.type().tensor_type();
    const DType computed = ctx.g.value(v.name()).dtype;
    if (tt.elem_type() != 0 && tt.elem_type() != static_cast<int32_t>(computed))
      throw ModelError(ctx.file, "",
                       "graph output '" + v.name() + "' is declared " +
                           TP::DataType_Name(static_cast<TP::DataType>(tt.elem_type())) +
                           " but the graph computes " + dtype_name(computed));
    if (!tt.has_shape() || tt.shape().dim_size() == 0) continue;  // rank 0: read as undeclared
    const Shape& got = ctx.g.value(v.name()).shape;
    Shape declared;
    bool match = tt.shape().dim_size() == static_cast<int>(got.size());
    for (int d = 0; d < tt.shape().dim_size(); ++d) {
      const auto& dim = tt.shape().dim(d);
      const bool known =
          dim.has_dim_value() && (ctx.symbolic_batch ? dim.dim_value() > 0 : dim.dim_value() >= 0);
      declared.push_back(known ? dim.dim_value() : kBatch);
      if (match && declared[d] != kBatch && got[d] != kBatch) match = declared[d] == got[d];
    }
    if (!match)
      throw ModelError(ctx.file, "",
                       "graph output '" + v.name() + "' is declared " + shape_str(declared) +
                           " but the graph computes " + shape_str(got));
  }
}

}  // namespace autocompress::onnx_loader
