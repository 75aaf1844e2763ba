// A fluent builder of canonical graphs for executor tests (in the spirit of XNNPACK's testers):
// weights are random with a fixed seed, every op's output shape is computed here so a test reads
// as the network it builds.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "evaluator/executor.hpp"
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
    g_.values[name] = {name, DType::kFloat, t.shape};
    g_.initializers[name] = std::move(t);
    return name;
  }

  std::string conv(const std::string& x, int64_t m, int64_t k, int64_t stride = 1,
                   std::vector<int64_t> pads = {0, 0, 0, 0}, int64_t dil = 1, int64_t group = 1,
                   bool bias = true) {
    const Shape& s = shape(x);
    std::vector<std::string> in{x, weight({m, s[1] / group, k, k})};
    if (bias) in.push_back(weight({m}));
    const int64_t ek = (k - 1) * dil + 1;
    Shape out{kBatch, m, (s[2] + pads[0] + pads[2] - ek) / stride + 1,
              (s[3] + pads[1] + pads[3] - ek) / stride + 1};
    return node("Conv", in, out,
                {{"strides", std::vector<int64_t>{stride, stride}},
                 {"pads", pads},
                 {"dilations", std::vector<int64_t>{dil, dil}},
                 {"group", group}});
  }
  std::string batchnorm(const std::string& x) {
    int64_t c = shape(x)[1];
    return node("BatchNormalization",
                {x, weight({c}, 0.5f, 1.5f), weight({c}, -0.2f, 0.2f), weight({c}, -0.2f, 0.2f),
                 weight({c}, 0.5f, 2.f)},
                shape(x), {{"epsilon", 1e-5f}});
  }
  std::string gemm(const std::string& x, int64_t m, bool bias = true) {
    std::vector<std::string> in{x, weight({m, shape(x)[1]})};
    if (bias) in.push_back(weight({m}));
    return node("Gemm", in, {kBatch, m});
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

  Graph finish(const std::vector<std::string>& outputs) {
    g_.outputs = outputs;
    return g_;
  }

 private:
  Graph g_;
  std::mt19937 rng_;
  int counter_ = 0;
};

}  // namespace autocompress::testing
