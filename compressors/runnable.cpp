#include "compressors/runnable.hpp"

#include <map>

#include "compressors/calibrate.hpp"
#include "compressors/quantize_pass.hpp"

namespace autocompress {

namespace {

// The quantize pass's settings for the attributes of a costing graph's Conv/Gemm nodes. QDQ
// layers (weights already DequantizeLinear) are left alone.
std::map<std::string, QuantSetting> attr_settings(const Graph& g) {
  std::map<std::string, QuantSetting> out;
  for (const auto& n : g.nodes) {
    if ((n.op != "Conv" && n.op != "Gemm") || !g.is_initializer(n.inputs[1])) continue;
    QuantSetting s;
    if (n.has("precision"))
      s.precision = parse_precision(std::get<std::string>(n.attrs.at("precision")))
                        .value_or(Precision::kFp32);
    s.wbits = int(n.i("wbits", 8));
    if (s.precision == Precision::kInt8 || s.wbits < 8) out[n.name] = s;
  }
  return out;
}

// The measurement's input pattern (hwmodels/measure.cpp): values in [-0.5, 0.5), both signs.
Dataset synthetic(const Graph& g, int64_t samples) {
  Dataset ds;
  ds.source = "synthetic";
  ds.sample_shape = g.value(g.inputs.at(0)).shape;
  ds.sample_shape.erase(ds.sample_shape.begin());
  ds.images.resize(size_t(samples * numel(ds.sample_shape)));
  for (size_t k = 0; k < ds.images.size(); ++k) ds.images[k] = float(k % 17) / 17.0f - 0.5f;
  return ds;
}

}  // namespace

Graph runnable_model(const Graph& g, int64_t samples) {
  const auto settings = attr_settings(g);
  if (settings.empty()) return g;
  const QuantizeOptions o;
  CalibOptions co;
  co.batch = samples;
  const auto stats =
      collect_activation_stats(g, synthetic(g, samples), quantize_needs(g, settings, o), co);
  return quantize(g, settings, stats, o);
}

ActivationStats synthetic_signs(const Graph& g, int64_t samples) {
  CalibOptions co;
  co.batch = samples;
  co.bins = 1;
  ActivationStats st =
      collect_activation_stats(g, synthetic(g, samples), quantizable_tensors(g), co);
  for (auto& [t, s] : st) s = {s.min, s.max, {}, {}, s.count};
  return st;
}

Graph runnable_structure(const Graph& g, const ActivationStats& signs) {
  const auto settings = attr_settings(g);
  if (settings.empty()) return g;
  QuantizeOptions o;
  o.mse_clipping = false;  // no weight values to clip
  ActivationStats st;
  for (const auto& t : quantize_needs(g, settings, o)) {
    const auto it = signs.find(t);
    st[t].min = it == signs.end() ? -1 : it->second.min;
  }
  return quantize(g, settings, st, o);
}

}  // namespace autocompress
