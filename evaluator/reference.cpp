// The naive reference executor (see reference.hpp). Every canonical op of graph.hpp is one plain
// function over row-major float tensors; sums are accumulated in double. Output shapes are
// derived here from each op's definition, independently of the loader's shape inference, and
// checked against the shapes the graph declares, so that a disagreement between the two is an
// error naming the node rather than silently wrong numbers.
#include "evaluator/reference.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/error.hpp"

namespace autocompress {

namespace {

using Inputs = std::vector<const HostTensor*>;  // nullptr marks an absent optional input
using Strides = std::vector<int64_t>;
using OpFn = HostTensor (*)(const Node&, const Inputs&, int64_t batch);
using Fn = std::function<HostTensor(const Node&, const Inputs&, int64_t batch)>;

// ---- small helpers --------------------------------------------------------------------------

[[noreturn]] void bad(const Node& n, const std::string& what) {
  throw ModelError("", n.name, n.op + ": " + what);
}

const HostTensor& arg(const Node& n, const Inputs& in, size_t k) {
  if (k >= in.size() || !in[k]) bad(n, "missing input " + std::to_string(k));
  return *in[k];
}

const HostTensor* optional_arg(const Inputs& in, size_t k) {
  return k < in.size() ? in[k] : nullptr;
}

void expect_rank(const Node& n, const HostTensor& t, size_t rank, const char* what) {
  if (t.shape.size() != rank)
    bad(n, std::string(what) + " must have rank " + std::to_string(rank) + ", got " +
               shape_str(t.shape));
}

std::vector<int64_t> ints_or(const Node& n, const std::string& key, std::vector<int64_t> def) {
  return n.has(key) ? n.ints(key) : def;
}

HostTensor zeros(Shape shape) {
  HostTensor t;
  t.data.assign(static_cast<size_t>(numel(shape)), 0.0f);
  t.shape = std::move(shape);
  return t;
}

// Row-major strides of a shape.
Strides strides_of(const Shape& s) {
  Strides r(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) r[d - 1] = r[d] * s[d];
  return r;
}

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t d = begin; d < end; ++d) p *= s[d];
  return p;
}

// Calls f(offset_a, offset_b) for every index of `shape` in row-major order, where offset_x is
// the dot product of the index with strides_x.
template <class F>
void for_each_index(const Shape& shape, const Strides& sa, const Strides& sb, F f) {
  const int64_t total = numel(shape);
  std::vector<int64_t> idx(shape.size(), 0);
  int64_t a = 0, b = 0;
  for (int64_t i = 0; i < total; ++i) {
    f(a, b);
    for (size_t d = shape.size(); d-- > 0;) {
      a += sa[d];
      b += sb[d];
      if (++idx[d] < shape[d]) break;
      a -= sa[d] * shape[d];
      b -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

template <class F>
HostTensor map_unary(const HostTensor& x, F f) {
  HostTensor y{x.shape, std::vector<float>(x.data.size())};
  for (size_t k = 0; k < x.data.size(); ++k)
    y.data[k] = static_cast<float>(f(static_cast<double>(x.data[k])));
  return y;
}

// ---- sliding windows (Conv, MaxPool, AveragePool) -------------------------------------------

// The window of a 2-D Conv / pool: kernel, strides, pads (begin and end), dilations per axis.
struct Window2d {
  int64_t k[2], s[2], begin[2], end[2], d[2];
  bool ceil_mode = false;

  // Output extent along spatial axis a for input extent `in`. With ceil_mode the last window
  // must still start inside the input or its begin padding (ONNX, as PyTorch).
  int64_t out(const Node& n, int a, int64_t in) const {
    const int64_t span = in + begin[a] + end[a] - (d[a] * (k[a] - 1) + 1);
    if (span < 0) bad(n, "window larger than the padded input");
    int64_t o = (ceil_mode ? (span + s[a] - 1) / s[a] : span / s[a]) + 1;
    if (ceil_mode && (o - 1) * s[a] >= in + begin[a]) --o;
    return o;
  }
};

Window2d window_attrs(const Node& n, int64_t kh, int64_t kw) {
  const auto s = ints_or(n, "strides", {1, 1});
  const auto p = ints_or(n, "pads", {0, 0, 0, 0});
  const auto d = ints_or(n, "dilations", {1, 1});
  if (s.size() != 2 || p.size() != 4 || d.size() != 2)
    bad(n, "strides, pads and dilations must have 2, 4 and 2 values (2-D only)");
  Window2d w{{kh, kw}, {s[0], s[1]}, {p[0], p[1]}, {p[2], p[3]}, {d[0], d[1]}};
  w.ceil_mode = n.i("ceil_mode", 0) != 0;
  for (int a = 0; a < 2; ++a)
    if (w.k[a] <= 0 || w.s[a] <= 0 || w.d[a] <= 0 || w.begin[a] < 0 || w.end[a] < 0)
      bad(n, "kernel, strides and dilations must be positive, pads non-negative");
  return w;
}

// ---- Conv, Gemm, BatchNormalization ---------------------------------------------------------

HostTensor conv(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  const HostTensor& w = arg(n, in, 1);
  const HostTensor* b = optional_arg(in, 2);
  expect_rank(n, x, 4, "X");
  expect_rank(n, w, 4, "W");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t M = w.shape[0], Cg = w.shape[1], kH = w.shape[2], kW = w.shape[3];
  const int64_t group = n.i("group", 1);
  if (group <= 0 || Cg * group != C || M % group != 0)
    bad(n, "X " + shape_str(x.shape) + " and W " + shape_str(w.shape) +
               " do not fit group=" + std::to_string(group));
  if (b && static_cast<int64_t>(b->data.size()) != M)
    bad(n, "B must have " + std::to_string(M) + " values");
  const Window2d win = window_attrs(n, kH, kW);
  const int64_t OH = win.out(n, 0, H), OW = win.out(n, 1, W), Mg = M / group;
  HostTensor y = zeros({N, M, OH, OW});
  float* out = y.data.data();
  for (int64_t i = 0; i < N; ++i)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? b->data[m] : 0.0;
          for (int64_t c = 0; c < Cg; ++c) {
            const float* xc = &x.data[((i * C + (m / Mg) * Cg + c) * H) * W];
            const float* wc = &w.data[((m * Cg + c) * kH) * kW];
            for (int64_t kh = 0; kh < kH; ++kh) {
              const int64_t ih = oh * win.s[0] - win.begin[0] + kh * win.d[0];
              if (ih < 0 || ih >= H) continue;
              for (int64_t kw = 0; kw < kW; ++kw) {
                const int64_t iw = ow * win.s[1] - win.begin[1] + kw * win.d[1];
                if (iw >= 0 && iw < W) acc += double(xc[ih * W + iw]) * wc[kh * kW + kw];
              }
            }
          }
          *out++ = static_cast<float>(acc);
        }
  return y;
}

// Y = X W^T + B with X [N,K], W [M,K], B [M] (or a single value).
HostTensor gemm(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  const HostTensor& w = arg(n, in, 1);
  const HostTensor* b = optional_arg(in, 2);
  expect_rank(n, x, 2, "X");
  expect_rank(n, w, 2, "W");
  const int64_t N = x.shape[0], K = x.shape[1], M = w.shape[0];
  if (w.shape[1] != K) bad(n, "X " + shape_str(x.shape) + " does not fit W " + shape_str(w.shape));
  if (b && b->data.size() != static_cast<size_t>(M) && b->data.size() != 1)
    bad(n, "B " + shape_str(b->shape) + " must have " + std::to_string(M) + " values");
  HostTensor y = zeros({N, M});
  for (int64_t i = 0; i < N; ++i)
    for (int64_t m = 0; m < M; ++m) {
      double acc = b ? b->data[b->data.size() == 1 ? 0 : m] : 0.0;
      for (int64_t k = 0; k < K; ++k) acc += double(x.data[i * K + k]) * w.data[m * K + k];
      y.data[i * M + m] = static_cast<float>(acc);
    }
  return y;
}

// (x - mean) / sqrt(var + epsilon) * scale + B per channel (axis 1), inference form.
HostTensor batch_norm(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  if (x.shape.size() < 2) bad(n, "X must have rank >= 2, got " + shape_str(x.shape));
  const int64_t C = x.shape[1], inner = product(x.shape, 2, x.shape.size());
  const HostTensor* p[4] = {&arg(n, in, 1), &arg(n, in, 2), &arg(n, in, 3), &arg(n, in, 4)};
  for (const HostTensor* t : p)
    if (static_cast<int64_t>(t->data.size()) != C)
      bad(n, "scale, B, mean and var must have " + std::to_string(C) + " values");
  const double eps = n.f("epsilon", 1e-5f);
  HostTensor y{x.shape, std::vector<float>(x.data.size())};
  for (size_t k = 0; k < x.data.size(); ++k) {
    const int64_t c = (static_cast<int64_t>(k) / inner) % C;
    const double v = (double(x.data[k]) - p[2]->data[c]) / std::sqrt(double(p[3]->data[c]) + eps);
    y.data[k] = static_cast<float>(v * p[0]->data[c] + p[1]->data[c]);
  }
  return y;
}

// ---- activations ----------------------------------------------------------------------------

HostTensor relu(const Node& n, const Inputs& in, int64_t) {
  return map_unary(arg(n, in, 0), [](double v) { return v > 0 ? v : 0.0; });
}

HostTensor sigmoid(const Node& n, const Inputs& in, int64_t) {
  return map_unary(arg(n, in, 0), [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
}

HostTensor hard_swish(const Node& n, const Inputs& in, int64_t) {
  return map_unary(arg(n, in, 0), [](double v) { return v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0); });
}

HostTensor clip(const Node& n, const Inputs& in, int64_t) {
  const double lo = n.f("min", -std::numeric_limits<float>::infinity());
  const double hi = n.f("max", std::numeric_limits<float>::infinity());
  // ONNX: min(max(x, lo), hi), so hi wins when lo > hi.
  return map_unary(arg(n, in, 0), [=](double v) { return std::min(std::max(v, lo), hi); });
}

HostTensor leaky_relu(const Node& n, const Inputs& in, int64_t) {
  const double alpha = n.f("alpha", 0.01f);
  return map_unary(arg(n, in, 0), [=](double v) { return v >= 0 ? v : alpha * v; });
}

HostTensor hard_sigmoid(const Node& n, const Inputs& in, int64_t) {
  const double alpha = n.f("alpha", 0.2f), beta = n.f("beta", 0.5f);
  return map_unary(arg(n, in, 0),
                   [=](double v) { return std::max(0.0, std::min(1.0, alpha * v + beta)); });
}

// ---- pooling --------------------------------------------------------------------------------

// Applies reduce(plane, H, W, h0, w0) -> float to every window of every [H,W] plane of X; h0/w0
// is the window's first position, which may lie in the padding.
template <class Reduce>
HostTensor pool2d(const Node& n, const HostTensor& x, const Window2d& win, Reduce reduce) {
  expect_rank(n, x, 4, "X");
  const int64_t H = x.shape[2], W = x.shape[3];
  const int64_t OH = win.out(n, 0, H), OW = win.out(n, 1, W);
  HostTensor y = zeros({x.shape[0], x.shape[1], OH, OW});
  float* out = y.data.data();
  for (int64_t p = 0; p < x.shape[0] * x.shape[1]; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        *out++ = reduce(&x.data[p * H * W], H, W, oh * win.s[0] - win.begin[0],
                        ow * win.s[1] - win.begin[1]);
  return y;
}

Window2d pool_window(const Node& n) {
  const auto& k = n.ints("kernel_shape");
  if (k.size() != 2) bad(n, "kernel_shape must have 2 values (2-D only)");
  return window_attrs(n, k[0], k[1]);
}

// Padding is never selected: only positions inside the input compete.
HostTensor max_pool(const Node& n, const Inputs& in, int64_t) {
  const Window2d w = pool_window(n);
  return pool2d(n, arg(n, in, 0), w,
                [&](const float* x, int64_t H, int64_t W, int64_t h0, int64_t w0) {
                  float m = -std::numeric_limits<float>::infinity();
                  for (int64_t a = 0; a < w.k[0]; ++a)
                    for (int64_t b = 0; b < w.k[1]; ++b) {
                      const int64_t h = h0 + a * w.d[0], c = w0 + b * w.d[1];
                      if (h >= 0 && h < H && c >= 0 && c < W) m = std::max(m, x[h * W + c]);
                    }
                  return m;
                });
}

// The divisor counts the window positions inside the input, or with count_include_pad inside
// the padded input; positions past the padded end (ceil_mode) never count (ONNX's reference, as
// PyTorch).
HostTensor average_pool(const Node& n, const Inputs& in, int64_t) {
  const Window2d w = pool_window(n);
  const bool include_pad = n.i("count_include_pad", 0) != 0;
  return pool2d(n, arg(n, in, 0), w,
                [&](const float* x, int64_t H, int64_t W, int64_t h0, int64_t w0) {
                  double sum = 0;
                  int64_t count = 0;
                  for (int64_t a = 0; a < w.k[0]; ++a)
                    for (int64_t b = 0; b < w.k[1]; ++b) {
                      const int64_t h = h0 + a * w.d[0], c = w0 + b * w.d[1];
                      const bool inside = h >= 0 && h < H && c >= 0 && c < W;
                      if (inside) sum += x[h * W + c];
                      if (inside || (include_pad && h >= -w.begin[0] && h < H + w.end[0] &&
                                     c >= -w.begin[1] && c < W + w.end[1]))
                        ++count;
                    }
                  return static_cast<float>(count ? sum / count : 0.0);
                });
}

HostTensor global_average_pool(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  if (x.shape.size() < 3) bad(n, "X must have rank >= 3, got " + shape_str(x.shape));
  Shape out_shape = x.shape;
  std::fill(out_shape.begin() + 2, out_shape.end(), 1);
  HostTensor y = zeros(out_shape);
  const int64_t inner = product(x.shape, 2, x.shape.size());
  for (size_t p = 0; p < y.data.size(); ++p) {
    double sum = 0;
    for (int64_t k = 0; k < inner; ++k) sum += x.data[p * inner + k];
    y.data[p] = static_cast<float>(sum / inner);
  }
  return y;
}

// Mean over `axes` (all axes when empty); keepdims keeps them as 1.
HostTensor reduce_mean(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  const size_t rank = x.shape.size();
  std::vector<bool> reduced(rank, !n.has("axes") || n.ints("axes").empty());
  if (n.has("axes"))
    for (int64_t a : n.ints("axes")) {
      if (a < 0 || a >= static_cast<int64_t>(rank))
        bad(n, "axis " + std::to_string(a) + " out of range");
      reduced[a] = true;
    }
  Shape kept = x.shape;  // the output shape with keepdims
  for (size_t d = 0; d < rank; ++d)
    if (reduced[d]) kept[d] = 1;
  Strides to_out = strides_of(kept);
  for (size_t d = 0; d < rank; ++d)
    if (reduced[d]) to_out[d] = 0;
  std::vector<double> sum(static_cast<size_t>(numel(kept)), 0.0);
  for_each_index(x.shape, strides_of(x.shape), to_out,
                 [&](int64_t i, int64_t o) { sum[o] += x.data[i]; });
  const double count = static_cast<double>(x.data.size()) / static_cast<double>(sum.size());
  Shape out_shape;
  for (size_t d = 0; d < rank; ++d)
    if (!reduced[d] || n.i("keepdims", 1)) out_shape.push_back(kept[d]);
  HostTensor y = zeros(out_shape);
  for (size_t k = 0; k < sum.size(); ++k) y.data[k] = static_cast<float>(sum[k] / count);
  return y;
}

// ---- data movement --------------------------------------------------------------------------

// Constant padding; pads = all begins then all ends (negative values crop, as in ONNX).
HostTensor pad(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  const size_t rank = x.shape.size();
  const auto& pads = n.ints("pads");
  if (pads.size() != 2 * rank) bad(n, "pads must have " + std::to_string(2 * rank) + " values");
  if (n.has("mode") && std::get<std::string>(n.attrs.at("mode")) != "constant")
    throw UnsupportedError("", n.name, "Pad: only mode 'constant' is supported");
  Shape out_shape(rank);
  for (size_t d = 0; d < rank; ++d) {
    out_shape[d] = x.shape[d] + pads[d] + pads[d + rank];
    if (out_shape[d] < 0) bad(n, "pads remove more than the input has");
  }
  HostTensor y = zeros(out_shape);
  std::fill(y.data.begin(), y.data.end(), n.f("value", 0.0f));
  const Strides xs = strides_of(x.shape);
  for (int64_t o = 0; o < static_cast<int64_t>(y.data.size()); ++o) {
    int64_t rest = o, src = 0;
    bool inside = true;
    for (size_t d = rank; d-- > 0;) {
      const int64_t i = rest % out_shape[d] - pads[d];
      rest /= out_shape[d];
      inside &= i >= 0 && i < x.shape[d];
      src += i * xs[d];
    }
    if (inside) y.data[o] = x.data[src];
  }
  return y;
}

HostTensor concat(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& first = arg(n, in, 0);
  const int64_t axis = n.i("axis");
  if (axis < 0 || axis >= static_cast<int64_t>(first.shape.size())) bad(n, "axis out of range");
  Shape out_shape = first.shape;
  out_shape[axis] = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    const HostTensor& t = arg(n, in, k);
    Shape probe = t.shape;
    if (probe.size() == out_shape.size()) probe[axis] = out_shape[axis];
    if (probe != out_shape)
      bad(n, "input " + shape_str(t.shape) + " does not fit " + shape_str(first.shape));
    out_shape[axis] += t.shape[axis];
  }
  HostTensor y = zeros(out_shape);
  const int64_t outer = product(first.shape, 0, axis);
  float* out = y.data.data();
  for (int64_t o = 0; o < outer; ++o)
    for (const HostTensor* t : in) {
      const int64_t block = product(t->shape, axis, t->shape.size());
      out = std::copy_n(t->data.begin() + o * block, block, out);
    }
  return y;
}

HostTensor flatten(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  const int64_t axis = n.i("axis", 1);
  if (axis < 0 || axis > static_cast<int64_t>(x.shape.size())) bad(n, "axis out of range");
  return {{product(x.shape, 0, axis), product(x.shape, axis, x.shape.size())}, x.data};
}

HostTensor reshape(const Node& n, const Inputs& in, int64_t batch) {
  const HostTensor& x = arg(n, in, 0);
  Shape out_shape = with_batch(n.ints("shape"), batch);
  for (int64_t d : out_shape)
    if (d < 0) bad(n, "shape " + shape_str(n.ints("shape")) + " is not resolved");
  if (numel(out_shape) != static_cast<int64_t>(x.data.size()))
    bad(n, "cannot reshape " + shape_str(x.shape) + " to " + shape_str(out_shape));
  return {out_shape, x.data};
}

HostTensor transpose(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  const size_t rank = x.shape.size();
  std::vector<int64_t> perm(rank);
  for (size_t d = 0; d < rank; ++d) perm[d] = static_cast<int64_t>(rank - 1 - d);
  if (n.has("perm")) perm = n.ints("perm");
  if (perm.size() != rank) bad(n, "perm must have " + std::to_string(rank) + " values");
  const Strides xs = strides_of(x.shape);
  Shape out_shape(rank);
  Strides from(rank);  // input stride of each output axis
  std::vector<bool> seen(rank, false);
  for (size_t d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= static_cast<int64_t>(rank) || seen[perm[d]])
      bad(n, "perm is not a permutation");
    seen[perm[d]] = true;
    out_shape[d] = x.shape[perm[d]];
    from[d] = xs[perm[d]];
  }
  HostTensor y = zeros(out_shape);
  for_each_index(out_shape, from, strides_of(out_shape),
                 [&](int64_t i, int64_t o) { y.data[o] = x.data[i]; });
  return y;
}

// Softmax over `axis`; with coerce_2d (opset < 13) over the whole block of axes >= axis.
HostTensor softmax(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  const size_t rank = x.shape.size();
  const int64_t axis = n.i("axis", rank ? static_cast<int64_t>(rank) - 1 : 0);
  if (axis < 0 || axis >= static_cast<int64_t>(std::max<size_t>(rank, 1)))
    bad(n, "axis out of range");
  const bool coerce = n.i("coerce_2d", 0) != 0;
  const int64_t outer = product(x.shape, 0, axis);
  const int64_t len = coerce ? product(x.shape, axis, rank) : (rank ? x.shape[axis] : 1);
  const int64_t inner = coerce ? 1 : product(x.shape, axis + 1, rank);
  HostTensor y{x.shape, std::vector<float>(x.data.size())};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      double mx = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t k = 0; k < len; ++k) mx = std::max(mx, double(x.data[base + k * inner]));
      for (int64_t k = 0; k < len; ++k) sum += std::exp(x.data[base + k * inner] - mx);
      for (int64_t k = 0; k < len; ++k)
        y.data[base + k * inner] =
            static_cast<float>(std::exp(x.data[base + k * inner] - mx) / sum);
    }
  return y;
}

// ---- broadcasting binary ops ----------------------------------------------------------------

// ONNX multidirectional broadcasting: shapes aligned at the right, 1 stretches.
template <class F>
HostTensor broadcast_binary(const Node& n, const Inputs& in, F f) {
  const HostTensor& a = arg(n, in, 0);
  const HostTensor& b = arg(n, in, 1);
  const size_t rank = std::max(a.shape.size(), b.shape.size());
  Shape out_shape(rank);
  Strides sa(rank, 0), sb(rank, 0);
  const Strides as = strides_of(a.shape), bs = strides_of(b.shape);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t ka = static_cast<int64_t>(d + a.shape.size()) - static_cast<int64_t>(rank);
    const int64_t kb = static_cast<int64_t>(d + b.shape.size()) - static_cast<int64_t>(rank);
    const int64_t da = ka >= 0 ? a.shape[ka] : 1, db = kb >= 0 ? b.shape[kb] : 1;
    if (da != db && da != 1 && db != 1)
      bad(n, "cannot broadcast " + shape_str(a.shape) + " with " + shape_str(b.shape));
    out_shape[d] = std::max(da, db);
    if (da == out_shape[d] && ka >= 0) sa[d] = as[ka];
    if (db == out_shape[d] && kb >= 0) sb[d] = bs[kb];
  }
  if (std::find(out_shape.begin(), out_shape.end(), 0) != out_shape.end()) return zeros(out_shape);
  HostTensor y = zeros(out_shape);
  float* out = y.data.data();
  for_each_index(out_shape, sa, sb, [&](int64_t i, int64_t j) {
    *out++ = static_cast<float>(f(double(a.data[i]), double(b.data[j])));
  });
  return y;
}

HostTensor add(const Node& n, const Inputs& in, int64_t) {
  return broadcast_binary(n, in, [](double a, double b) { return a + b; });
}
HostTensor sub(const Node& n, const Inputs& in, int64_t) {
  return broadcast_binary(n, in, [](double a, double b) { return a - b; });
}
HostTensor mul(const Node& n, const Inputs& in, int64_t) {
  return broadcast_binary(n, in, [](double a, double b) { return a * b; });
}
HostTensor div(const Node& n, const Inputs& in, int64_t) {
  return broadcast_binary(n, in, [](double a, double b) { return a / b; });
}

// ---- QuantizeLinear / DequantizeLinear (graph.hpp), literally as ONNX defines them ----------

// The grid of element k: scale and zero point, per tensor or along `axis` (per-axis scales).
struct Grid {
  const HostTensor& scale;
  const HostTensor* zero_point;
  int64_t inner = 1, channels = 1;  // per-axis: element k uses channel (k / inner) % channels

  Grid(const Node& n, const Inputs& in, const Shape& x)
      : scale(arg(n, in, 1)), zero_point(optional_arg(in, 2)) {
    channels = static_cast<int64_t>(scale.data.size());
    if (zero_point && zero_point->data.size() != scale.data.size())
      bad(n, "zero point and scale differ in size");
    if (channels == 1) return;
    const int64_t axis = n.i("axis", 1);
    if (axis < 0 || axis >= static_cast<int64_t>(x.size()) || x[axis] != channels)
      bad(n, std::to_string(channels) + " scales do not fit axis " + std::to_string(axis) + " of " +
                 shape_str(x));
    inner = product(x, axis + 1, x.size());
  }
  size_t channel(size_t k) const { return (k / inner) % channels; }
  float s(size_t k) const { return scale.data[channel(k)]; }
  float zp(size_t k) const { return zero_point ? zero_point->data[channel(k)] : 0.0f; }
};

// y = saturate(round_half_to_even(x / scale) + zero_point) in the range of `type` (uint8 or
// int8, the zero point's type), by graph.hpp's quantize_value.
HostTensor quantize_linear(const Node& n, const Inputs& in, DType type) {
  const HostTensor& x = arg(n, in, 0);
  const Grid grid(n, in, x.shape);
  if (type != DType::kUInt8 && type != DType::kInt8)
    bad(n, std::string("zero point of type ") + dtype_name(type) + ", expected uint8 or int8");
  HostTensor y{x.shape, std::vector<float>(x.data.size())};
  for (size_t k = 0; k < x.data.size(); ++k)
    y.data[k] = static_cast<float>(
        quantize_value(x.data[k], grid.s(k), static_cast<int64_t>(grid.zp(k)), type));
  return y;
}

// y = (x - zero_point) * scale in float32.
HostTensor dequantize_linear(const Node& n, const Inputs& in, int64_t) {
  const HostTensor& x = arg(n, in, 0);
  const Grid grid(n, in, x.shape);
  HostTensor y{x.shape, std::vector<float>(x.data.size())};
  for (size_t k = 0; k < x.data.size(); ++k) y.data[k] = (x.data[k] - grid.zp(k)) * grid.s(k);
  return y;
}

const std::unordered_map<std::string, OpFn>& op_table() {
  static const std::unordered_map<std::string, OpFn> table = {
      {"Conv", conv},
      {"Gemm", gemm},
      {"BatchNormalization", batch_norm},
      {"Relu", relu},
      {"Sigmoid", sigmoid},
      {"HardSwish", hard_swish},
      {"Clip", clip},
      {"LeakyRelu", leaky_relu},
      {"HardSigmoid", hard_sigmoid},
      {"MaxPool", max_pool},
      {"AveragePool", average_pool},
      {"GlobalAveragePool", global_average_pool},
      {"ReduceMean", reduce_mean},
      {"Pad", pad},
      {"Add", add},
      {"Sub", sub},
      {"Mul", mul},
      {"Div", div},
      {"Concat", concat},
      {"Flatten", flatten},
      {"Reshape", reshape},
      {"Transpose", transpose},
      {"Softmax", softmax},
      {"DequantizeLinear", dequantize_linear},
  };
  return table;
}

// ---- the executor ---------------------------------------------------------------------------

HostTensor from_tensor_data(const TensorData& t) {
  HostTensor h{t.shape, {}};
  if (t.is_float())
    h.data = t.f;
  else
    h.data.assign(t.i.begin(), t.i.end());
  return h;
}

class ReferenceExecutor : public Executor {
 public:
  explicit ReferenceExecutor(const Graph& g) : g_(g) {
    for (const auto& n : g_.nodes) {
      if (n.outputs.size() != 1)
        throw ModelError(g_.source, n.name, n.op + " must have exactly one output");
      fns_.push_back(op_function(n));
    }
    for (const auto& [name, t] : g_.initializers) constants_[name] = from_tensor_data(t);
    // Last reader of every activation, so that it can be freed after that node.
    for (size_t k = 0; k < g_.nodes.size(); ++k)
      for (const auto& t : g_.nodes[k].inputs) last_use_[t] = k;
    for (const auto& t : g_.outputs) last_use_[t] = g_.nodes.size();
  }

  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs) override {
    const int64_t batch = check_inputs(g_, inputs);
    std::unordered_map<std::string, HostTensor> live;
    for (size_t k = 0; k < inputs.size(); ++k) live[g_.inputs[k]] = inputs[k];
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      const Node& n = g_.nodes[k];
      Inputs args;
      for (const auto& t : n.inputs) args.push_back(t.empty() ? nullptr : &lookup(live, t));
      HostTensor y = fns_[k](n, args, batch);
      check_declared_shape(n, y, batch);
      live[n.outputs[0]] = std::move(y);
      for (const auto& t : n.inputs)
        if (last_use_[t] == k) live.erase(t);
    }
    std::vector<HostTensor> outputs;
    for (const auto& t : g_.outputs) outputs.push_back(lookup(live, t));
    return outputs;
  }

  std::string name() const override { return "reference"; }

 private:
  const HostTensor& lookup(const std::unordered_map<std::string, HostTensor>& live,
                           const std::string& t) const {
    if (auto it = live.find(t); it != live.end()) return it->second;
    if (auto it = constants_.find(t); it != constants_.end()) return it->second;
    throw ModelError(g_.source, "", "tensor '" + t + "' is read before it is computed");
  }

  void check_declared_shape(const Node& n, const HostTensor& y, int64_t batch) const {
    auto it = g_.values.find(n.outputs[0]);
    if (it == g_.values.end()) return;
    const Shape declared = with_batch(it->second.shape, batch);
    if (declared != y.shape)
      throw ModelError(g_.source, n.name,
                       n.op + " computes shape " + shape_str(y.shape) + " for '" + n.outputs[0] +
                           "' but the graph declares " + shape_str(it->second.shape));
  }

  // The function computing n. QuantizeLinear learns its output type from the graph; a bf16
  // layer (attr precision "bf16") first rounds its input and weights to bfloat16.
  Fn op_function(const Node& n) const {
    if (n.op == "QuantizeLinear") {
      const DType t = node_output_dtype(g_, n);
      return [t](const Node& m, const Inputs& in, int64_t) { return quantize_linear(m, in, t); };
    }
    auto it = op_table().find(n.op);
    if (it == op_table().end())
      throw UnsupportedError(g_.source, n.name, "the reference executor has no op '" + n.op + "'");
    const OpFn f = it->second;
    const std::string precision = layer_precision(n);
    if (precision != "bf16") return f;
    return [f](const Node& m, const Inputs& in, int64_t batch) {
      HostTensor x = arg(m, in, 0), w = arg(m, in, 1);
      for (float& v : x.data) v = round_to_bf16(v);
      for (float& v : w.data) v = round_to_bf16(v);
      Inputs rounded = in;
      rounded[0] = &x;
      rounded[1] = &w;
      return f(m, rounded, batch);
    };
  }

  // attr precision of a Conv/Gemm: "fp32" (absent), "bf16" or "int8" (int8 layers are their
  // QDQ graph and run as fp32 here, which is the float simulation of the quantization).
  std::string layer_precision(const Node& n) const {
    if (!n.has("precision")) return "fp32";
    const auto* p = std::get_if<std::string>(&n.attrs.at("precision"));
    if ((n.op != "Conv" && n.op != "Gemm") || !p || (*p != "fp32" && *p != "bf16" && *p != "int8"))
      throw ModelError(g_.source, n.name,
                       "attribute precision must be \"fp32\", \"bf16\" or \"int8\" on a Conv or "
                       "Gemm (" +
                           n.op + ")");
    return *p;
  }

  Graph g_;
  std::vector<Fn> fns_;
  std::unordered_map<std::string, HostTensor> constants_;
  std::unordered_map<std::string, size_t> last_use_;
};

}  // namespace

std::unique_ptr<Executor> make_reference_executor(const Graph& g) {
  return std::make_unique<ReferenceExecutor>(g);
}

}  // namespace autocompress
