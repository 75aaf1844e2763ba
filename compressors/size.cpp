#include "compressors/size.hpp"

#include <map>
#include <set>

#include "compressors/apply.hpp"

namespace autocompress {
namespace {

double element_bytes(DType t) {
  switch (t) {
    case DType::kInt8:
    case DType::kUInt8:
      return 1;
    case DType::kFloat16:
    case DType::kBFloat16:
      return 2;
    case DType::kDouble:
    case DType::kInt64:
      return 8;
    default:
      return 4;
  }
}

// One Conv/Gemm node's share of its layer.
LayerSize node_size(const Graph& g, const Node& n, std::set<std::string>& owned) {
  LayerSize s;
  s.precision = n.has("precision") ? std::get<std::string>(n.attrs.at("precision")) : "fp32";
  s.abits = s.precision == "int8" ? 8 : s.precision == "bf16" ? 16 : 32;
  const Shape& w = g.value(n.inputs[1]).shape;
  const int64_t m = w[0], wn = numel(w);
  const Node* dq = g.producer(n.inputs[1]);
  const bool quantized = dq && dq->op == "DequantizeLinear";
  s.wbits = quantized ? int(n.i("wbits", 8)) : s.precision == "bf16" ? 16 : 32;
  s.params = wn;
  s.packed_bytes = double(wn) * s.wbits / 8.0 + (quantized ? 4.0 * double(m) : 0.0);
  if (quantized)
    owned.insert(dq->inputs.begin(), dq->inputs.end());
  else
    owned.insert(n.inputs[1]);
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    s.params += m;
    s.packed_bytes += 4.0 * double(m);
    owned.insert(n.inputs[2]);
  }
  s.macs = node_macs(g, n);
  s.bops = double(s.macs) * s.wbits * s.abits;
  return s;
}

}  // namespace

SizeReport size_report(const Graph& g) {
  SizeReport r;
  std::map<std::string, size_t> index;
  std::set<std::string> owned;
  for (const auto& n : g.nodes) {
    if (n.op != "Conv" && n.op != "Gemm") continue;
    LayerSize s = node_size(g, n, owned);
    s.name = recipe_layer_of(n.name);
    auto [it, fresh] = index.emplace(s.name, r.layers.size());
    if (fresh) {
      r.layers.push_back(s);
      continue;
    }
    LayerSize& l = r.layers[it->second];  // the second factor of a factorized layer
    l.params += s.params, l.packed_bytes += s.packed_bytes, l.macs += s.macs, l.bops += s.bops;
    l.wbits = std::max(l.wbits, s.wbits);
  }
  r.total.name = "total";
  for (const auto& l : r.layers) {
    r.total.params += l.params, r.total.packed_bytes += l.packed_bytes;
    r.total.macs += l.macs, r.total.bops += l.bops;
  }
  for (const auto& [name, t] : g.initializers)
    if (!owned.count(name)) {
      r.other_params += t.size();
      r.other_bytes += double(t.size()) * element_bytes(t.dtype);
    }
  return r;
}

nlohmann::json size_json(const SizeReport& r) {
  auto row = [](const LayerSize& l) {
    return nlohmann::json{{"name", l.name},     {"precision", l.precision},
                          {"wbits", l.wbits},   {"abits", l.abits},
                          {"params", l.params}, {"packed_bytes", l.packed_bytes},
                          {"macs", l.macs},     {"bops", l.bops}};
  };
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) layers.push_back(row(l));
  nlohmann::json j{{"layers", layers},
                   {"total",
                    {{"params", r.total.params},
                     {"packed_bytes", r.total.packed_bytes},
                     {"macs", r.total.macs},
                     {"bops", r.total.bops}}},
                   {"other_params", r.other_params},
                   {"other_bytes", r.other_bytes}};
  if (r.file_bytes) j["file_bytes"] = *r.file_bytes;
  return j;
}

}  // namespace autocompress
