#include "compressors/quant.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace autocompress {

int weight_levels(int bits) {
  if (bits < 2 || bits > 8)
    throw UsageError("weight bits must be in 2..8, got " + std::to_string(bits));
  return (1 << (bits - 1)) - 1;
}

int64_t quantize_value(float x, float scale, int64_t levels) {
  if (scale == 0.f) return 0;
  // nearbyint rounds half to even in the default rounding mode, like ONNX QuantizeLinear.
  const double r = std::nearbyint(double(x / scale));
  return int64_t(std::clamp(r, double(-levels), double(levels)));
}

double quantization_sse(std::span<const float> w, float scale, int64_t levels) {
  double e = 0;
  for (float x : w) {
    const double d = double(float(quantize_value(x, scale, levels)) * scale) - double(x);
    e += d * d;
  }
  return e;
}

namespace {

// quantization_sse with a multiply by the reciprocal: the inner loop of the clip search. It can
// differ from quantization_sse only for values within an ulp of a rounding boundary.
double fast_sse(std::span<const float> w, float scale, float levels) {
  if (scale == 0.f) return quantization_sse(w, scale, int64_t(levels));
  const float inv = 1.f / scale;
  double e = 0;
  for (float x : w) {
    const float q = std::clamp(std::nearbyint(x * inv), -levels, levels);
    const float d = q * scale - x;
    e += double(d * d);
  }
  return e;
}

}  // namespace

float maxabs_scale(std::span<const float> w, int64_t levels) {
  float m = 0;
  for (float x : w) m = std::max(m, std::fabs(x));
  return m / float(levels);
}

float mse_scale(std::span<const float> w, int64_t levels) {
  const float full = maxabs_scale(w, levels);
  float best = full;
  double best_e = fast_sse(w, full, float(levels));
  for (int k = 49; k >= 10; --k) {
    const float s = full * float(k) / 50.f;
    const double e = fast_sse(w, s, float(levels));
    if (e < best_e) best = s, best_e = e;
  }
  return best;
}

QuantizedWeights quantize_weights(std::span<const float> w, int64_t channels, int bits,
                                  bool mse_clip) {
  const int64_t levels = weight_levels(bits);
  if (channels <= 0 || int64_t(w.size()) % channels != 0)
    throw UsageError("quantize_weights: " + std::to_string(w.size()) +
                     " values do not split into " + std::to_string(channels) + " channels");
  const int64_t per = int64_t(w.size()) / channels;
  QuantizedWeights qw;
  qw.bits = bits;
  qw.q.resize(w.size());
  qw.scale.resize(size_t(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const auto row = w.subspan(size_t(c * per), size_t(per));
    const float s = mse_clip ? mse_scale(row, levels) : maxabs_scale(row, levels);
    qw.scale[size_t(c)] = s;
    for (int64_t k = 0; k < per; ++k) qw.q[size_t(c * per + k)] = quantize_value(row[k], s, levels);
  }
  return qw;
}

std::vector<float> dequantize_weights(const QuantizedWeights& qw) {
  std::vector<float> out(qw.q.size());
  const size_t per = qw.scale.empty() ? 0 : qw.q.size() / qw.scale.size();
  for (size_t k = 0; k < out.size(); ++k) out[k] = float(qw.q[k]) * qw.scale[k / per];
  return out;
}

std::vector<double> bias_shift(std::span<const float> w, std::span<const float> wq, int64_t m,
                               int64_t group, int64_t taps, std::span<const double> input_mean) {
  const int64_t c = int64_t(input_mean.size()), cg = c / group, per_group_out = m / group;
  if (int64_t(w.size()) != m * cg * taps || w.size() != wq.size())
    throw UsageError("bias_shift: weight of " + std::to_string(w.size()) + " values, expected " +
                     std::to_string(m * cg * taps));
  std::vector<double> shift(size_t(m), 0.0);
  for (int64_t o = 0; o < m; ++o) {
    const int64_t c0 = (o / per_group_out) * cg;
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t t = 0; t < taps; ++t) {
        const size_t k = size_t((o * cg + ci) * taps + t);
        shift[size_t(o)] += (double(wq[k]) - double(w[k])) * input_mean[size_t(c0 + ci)];
      }
  }
  return shift;
}

const char* act_scale_name(ActScale m) {
  switch (m) {
    case ActScale::kMinMax:
      return "minmax";
    case ActScale::kPercentile:
      return "percentile";
    case ActScale::kMse:
      return "mse";
  }
  return "?";
}

ActScale parse_act_scale(const std::string& s) {
  for (ActScale m : {ActScale::kMinMax, ActScale::kPercentile, ActScale::kMse})
    if (s == act_scale_name(m)) return m;
  throw UsageError("activation scale method must be minmax, percentile or mse, got '" + s + "'");
}

namespace {

// Expected squared error of clipping at bin edge `edge` (in bins) with `levels` steps.
double clip_error(const AbsHistogram& h, size_t edge, double width, int64_t levels) {
  const double c = double(edge) * width, step = c / double(levels);
  double e = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (h.counts[i] == 0) continue;
    const double center = (double(i) + 0.5) * width;
    e += h.counts[i] * (i < edge ? step * step / 12.0 : (center - c) * (center - c));
  }
  return e;
}

}  // namespace

double activation_clip(const AbsHistogram& h, ActScale method, int64_t levels, double percentile) {
  double total = 0;
  for (double n : h.counts) total += n;
  if (total == 0 || h.max_abs <= 0) return 0;
  if (method == ActScale::kMinMax) return h.max_abs;
  const double width = h.max_abs / double(h.counts.size());
  if (method == ActScale::kPercentile) {
    double run = 0;
    for (size_t i = 0; i < h.counts.size(); ++i) {
      run += h.counts[i];
      if (run >= percentile / 100.0 * total) return double(i + 1) * width;
    }
    return h.max_abs;
  }
  size_t best = h.counts.size();
  double best_e = clip_error(h, best, width, levels);
  for (size_t edge = h.counts.size() - 1; edge >= 1; --edge) {
    const double e = clip_error(h, edge, width, levels);
    if (e < best_e) best = edge, best_e = e;
  }
  return double(best) * width;
}

}  // namespace autocompress
