// A fluent builder of canonical graphs for executor tests (in the spirit of XNNPACK's testers):
// weights are random with a fixed seed, every op's output shape is computed here so a test reads
// as the network it builds.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "evaluator/executor.hpp"
#include "evaluator/reference.hpp"
#include "model/graph.hpp"

namespace autocompress::testing {

// A standard-normal input for the graph's first input at `batch`, from a fixed seed.
inline HostTensor random_input(const Graph& g, int64_t batch, uint32_t seed = 7) {
  HostTensor t{with_batch(g.value(g.inputs[0]).shape, batch), {}};
  t.data.resize(numel(t.shape));
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, 1.f);
  for (auto& v : t.data) v = n(rng);
  return t;
}

class GraphBuilder {
 public:
  explicit GraphBuilder(Shape input, uint32_t seed = 1) : rng_(seed) {
    input[0] = kBatch;
    g_.inputs.push_back("x");
    g_.values["x"] = {"x", DType::kFloat, input};
    g_.source = "test";
  }

  // Random weight tensor, uniform in [lo, hi].
  std::string weight(const Shape& s, float lo = -0.5f, float hi = 0.5f) {
    std::uniform_real_distribution<float> u(lo, hi);
    TensorData t;
    t.shape = s;
    t.f.resize(numel(s));
    for (auto& v : t.f) v = u(rng_);
    return constant(std::move(t));
  }
  std::string constant(TensorData t) {
    std::string name = "w" + std::to_string(counter_++);
    g_.values[name] = {name, t.dtype, t.shape};
    g_.initializers[name] = std::move(t);
    return name;
  }

  // Weights of the conv() / gemm() calls that follow: random as always, then quantized per
  // output channel to int8 (max |w| / 127) and read through DequantizeLinear, the layer marked
  // precision "int8" (graph.hpp, "Quantization conventions"). The random draws do not change.
  void quantize_weights(bool on) { quant_weights_ = on; }

  // A layer's weight: plain, or DequantizeLinear(int8 per channel) under quantize_weights.
  std::string layer_weight(const Shape& s) {
    const std::string w = weight(s);
    if (!quant_weights_) return w;
    const TensorData& f = g_.initializers.at(w);
    const int64_t m = s[0], per = numel(s) / m;
    TensorData q{DType::kInt8, s, {}, std::vector<int64_t>(f.f.size())};
    TensorData scale{DType::kFloat, {m}, std::vector<float>(m), {}};
    for (int64_t o = 0; o < m; ++o) {
      float hi = 0;
      for (int64_t k = 0; k < per; ++k) hi = std::max(hi, std::abs(f.f[o * per + k]));
      scale.f[o] = hi > 0 ? hi / 127.f : 1.f;
      for (int64_t k = 0; k < per; ++k)
        q.i[o * per + k] = int64_t(std::nearbyint(f.f[o * per + k] / scale.f[o]));
    }
    g_.initializers.erase(w);
    g_.values.erase(w);
    const std::string qn = constant(std::move(q)), sn = constant(std::move(scale));
    const std::string zn = constant(TensorData{DType::kInt8, {m}, {}, std::vector<int64_t>(m)});
    return node("DequantizeLinear", {qn, sn, zn}, s, {{"axis", int64_t(0)}});
  }

  // QuantizeLinear of t to `dt` (kUInt8 / kInt8) on a per-tensor grid.
  std::string quantize(const std::string& t, float scale, DType dt, int64_t zero_point = 0) {
    const std::string sn = constant(TensorData{DType::kFloat, {}, {scale}, {}});
    const std::string zn = constant(TensorData{dt, {}, {}, {zero_point}});
    const std::string q = node("QuantizeLinear", {t, sn, zn}, shape(t));
    g_.values[q].dtype = dt;
    return q;
  }
  // DequantizeLinear of a QuantizeLinear output, on the same grid.
  std::string dequantize(const std::string& q) {
    const Node& qn = *std::find_if(g_.nodes.begin(), g_.nodes.end(),
                                   [&](const Node& n) { return n.outputs[0] == q; });
    return node("DequantizeLinear", {q, qn.inputs[1], qn.inputs[2]}, shape(q));
  }
  std::string qdq(const std::string& t, float scale, DType dt) {
    return dequantize(quantize(t, scale, dt));
  }
  // Quantize-dequantize t on the grid of `dq`, a DequantizeLinear output (pooling, Flatten and
  // Concat keep their input's grid).
  std::string qdq_as(const std::string& t, const std::string& dq) {
    if (calibrating_) return t;
    const Node& d = *g_.producer(dq);
    return dequantize(
        quantize(t, g_.initializers.at(d.inputs[1]).f[0], g_.initializers.at(d.inputs[2]).dtype));
  }
  // Quantize-dequantize t on the grid set_grids() gave for this call; in the calibrating pass of
  // quantized_graph below, t passes unchanged and is recorded.
  std::string qdq(const std::string& t) {
    if (calibrating_) {
      observed_.push_back(t);
      return t;
    }
    const auto& [scale, dt] = grids_.at(qdq_calls_++);
    return qdq(t, scale, dt);
  }
  const std::vector<std::string>& observed() const { return observed_; }
  void calibrate() { calibrating_ = true; }
  void set_grids(std::vector<std::pair<float, DType>> grids) { grids_ = std::move(grids); }

  std::string conv(const std::string& x, int64_t m, int64_t k, int64_t stride = 1,
                   std::vector<int64_t> pads = {0, 0, 0, 0}, int64_t dil = 1, int64_t group = 1,
                   bool bias = true) {
    const Shape s = shape(x);
    std::vector<std::string> in{x, layer_weight({m, s[1] / group, k, k})};
    if (bias) in.push_back(weight({m}));
    const int64_t ek = (k - 1) * dil + 1;
    Shape out{kBatch, m, (s[2] + pads[0] + pads[2] - ek) / stride + 1,
              (s[3] + pads[1] + pads[3] - ek) / stride + 1};
    return layer(node("Conv", in, out,
                      {{"strides", std::vector<int64_t>{stride, stride}},
                       {"pads", pads},
                       {"dilations", std::vector<int64_t>{dil, dil}},
                       {"group", group}}));
  }
  std::string batchnorm(const std::string& x) {
    int64_t c = shape(x)[1];
    return node("BatchNormalization",
                {x, weight({c}, 0.5f, 1.5f), weight({c}, -0.2f, 0.2f), weight({c}, -0.2f, 0.2f),
                 weight({c}, 0.5f, 2.f)},
                shape(x), {{"epsilon", 1e-5f}});
  }
  std::string gemm(const std::string& x, int64_t m, bool bias = true) {
    std::vector<std::string> in{x, layer_weight({m, shape(x)[1]})};
    if (bias) in.push_back(weight({m}));
    return layer(node("Gemm", in, {kBatch, m}));
  }
  std::string unary(const std::string& op, const std::string& x,
                    std::map<std::string, AttrValue> attrs = {}) {
    return node(op, {x}, shape(x), std::move(attrs));
  }
  std::string binary(const std::string& op, const std::string& a, const std::string& b) {
    const Shape &sa = shape(a), &sb = shape(b);
    Shape out(std::max(sa.size(), sb.size()));
    for (size_t k = 0; k < out.size(); ++k) {
      int64_t da = k + sa.size() >= out.size() ? sa[k + sa.size() - out.size()] : 1;
      int64_t db = k + sb.size() >= out.size() ? sb[k + sb.size() - out.size()] : 1;
      out[k] = da == 1 ? db : da;
    }
    return node(op, {a, b}, out);
  }
  std::string pool(const std::string& op, const std::string& x, int64_t k, int64_t stride,
                   std::vector<int64_t> pads = {0, 0, 0, 0}, bool ceil = false,
                   bool include_pad = false) {
    const Shape& s = shape(x);
    auto size = [&](int64_t in, int64_t p0, int64_t p1) {
      double v = double(in + p0 + p1 - k) / double(stride);
      int64_t o = (ceil ? int64_t(std::ceil(v)) : int64_t(std::floor(v))) + 1;
      if (ceil && (o - 1) * stride >= in + p0) --o;  // last window must start inside
      return o;
    };
    Shape out{kBatch, s[1], size(s[2], pads[0], pads[2]), size(s[3], pads[1], pads[3])};
    std::map<std::string, AttrValue> attrs{{"kernel_shape", std::vector<int64_t>{k, k}},
                                           {"strides", std::vector<int64_t>{stride, stride}},
                                           {"pads", pads},
                                           {"ceil_mode", int64_t(ceil)}};
    if (op == "MaxPool") attrs["dilations"] = std::vector<int64_t>{1, 1};
    if (op == "AveragePool") attrs["count_include_pad"] = int64_t(include_pad);
    return node(op, {x}, out, attrs);
  }
  std::string global_pool(const std::string& x) {
    Shape s = shape(x);
    s[2] = s[3] = 1;
    return node("GlobalAveragePool", {x}, s);
  }
  std::string flatten(const std::string& x) {
    const Shape& s = shape(x);
    return node("Flatten", {x}, {kBatch, s[1] * s[2] * s[3]}, {{"axis", int64_t(1)}});
  }
  std::string node(const std::string& op, std::vector<std::string> inputs, Shape out,
                   std::map<std::string, AttrValue> attrs = {}) {
    Node n;
    n.op = op;
    n.name = op + "_" + std::to_string(counter_);
    n.inputs = std::move(inputs);
    n.outputs = {"t" + std::to_string(counter_++)};
    n.attrs = std::move(attrs);
    g_.values[n.outputs[0]] = {n.outputs[0], DType::kFloat, out};
    g_.nodes.push_back(n);
    return n.outputs[0];
  }
  const Shape& shape(const std::string& t) const { return g_.values.at(t).shape; }
  Graph& graph() { return g_; }

  Graph finish(const std::vector<std::string>& outputs) {
    g_.outputs = outputs;
    return g_;
  }

 private:
  std::string layer(const std::string& out) {
    if (quant_weights_) g_.nodes.back().attrs["precision"] = std::string("int8");
    return out;
  }

  Graph g_;
  std::mt19937 rng_;
  int counter_ = 0;
  bool quant_weights_ = false;
  bool calibrating_ = false;
  std::vector<std::string> observed_;
  std::vector<std::pair<float, DType>> grids_;
  size_t qdq_calls_ = 0;
};

// A quantized test graph built in two passes. `build(b)` makes the network, calling b.qdq(t)
// where a tensor is quantized, and returns its outputs. The first pass (no Q/DQ) runs on the
// reference executor over `calib` to find each such tensor's range: u8 with scale max / 255 when
// it is never negative, else s8 with max |t| / 127. The second pass inserts Q/DQ on those grids.
template <class Build>
Graph quantized_graph(const Shape& input, Build build, int64_t calib_batch = 8) {
  GraphBuilder f(input);
  f.calibrate();
  std::vector<std::string> outs = build(f);
  Graph fg = f.finish(outs);
  fg.outputs = f.observed();
  const auto seen = make_reference_executor(fg)->run({random_input(fg, calib_batch, 99)});
  std::vector<std::pair<float, DType>> grids;
  for (const auto& t : seen) {
    float lo = 0, hi = 0;
    for (float v : t.data) lo = std::min(lo, v), hi = std::max(hi, std::abs(v));
    if (hi == 0) hi = 1;
    grids.push_back(lo >= 0 ? std::make_pair(hi / 255.f, DType::kUInt8)
                            : std::make_pair(hi / 127.f, DType::kInt8));
  }
  GraphBuilder q(input);
  q.set_grids(std::move(grids));
  outs = build(q);
  return q.finish(outs);
}

}  // namespace autocompress::testing
