#include "compressors/quant.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.hpp"

namespace autocompress {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(Quant, LevelsPerBitWidth) {
  EXPECT_EQ(weight_levels(2), 1);
  EXPECT_EQ(weight_levels(4), 7);
  EXPECT_EQ(weight_levels(8), 127);
  EXPECT_THROW(weight_levels(1), UsageError);
  EXPECT_THROW(weight_levels(9), UsageError);
}

TEST(Quant, RoundsHalfToEvenAndSaturates) {
  EXPECT_EQ(quantize_value(2.5f, 1.f, 127), 2);
  EXPECT_EQ(quantize_value(3.5f, 1.f, 127), 4);
  EXPECT_EQ(quantize_value(-2.5f, 1.f, 127), -2);
  EXPECT_EQ(quantize_value(100.f, 1.f, 7), 7);
  EXPECT_EQ(quantize_value(-100.f, 1.f, 7), -7);
  EXPECT_EQ(quantize_value(5.f, 0.f, 7), 0);
}

// Values already on the grid come back exactly, with max-abs and with MSE clipping.
TEST(Quant, ExactGridIsReproduced) {
  for (int bits : {2, 3, 4, 8}) {
    const int64_t L = weight_levels(bits);
    std::vector<float> w;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t k = -L; k <= L; ++k) w.push_back(0.25f * float(c + 1) * float(k));
    for (bool mse : {false, true}) {
      const QuantizedWeights q = quantize_weights(w, 3, bits, mse);
      EXPECT_EQ(dequantize_weights(q), w) << bits << " bits, mse " << mse;
      for (int64_t c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(q.scale[c], 0.25f * float(c + 1));
    }
  }
}

TEST(Quant, PerChannelScalesAndRange) {
  std::vector<float> w = gaussian(4 * 50, 1);
  for (int k = 0; k < 50; ++k) w[50 + k] *= 10.f;  // channel 1 is 10x larger
  const QuantizedWeights q = quantize_weights(w, 4, 4, false);
  ASSERT_EQ(q.scale.size(), 4u);
  EXPECT_GT(q.scale[1], 5 * q.scale[0]);
  for (int64_t v : q.q) EXPECT_LE(std::abs(v), 7);
}

// The MSE clip is never worse than max-abs, and clearly better at low bits on Gaussian weights
// with an outlier.
TEST(Quant, MseClippingNeverWorseThanMaxAbs) {
  for (int bits = 2; bits <= 8; ++bits)
    for (uint32_t seed = 0; seed < 5; ++seed) {
      std::vector<float> w = gaussian(300, seed);
      w[7] = 6.f;
      const int64_t L = weight_levels(bits);
      const double naive = quantization_sse(w, maxabs_scale(w, L), L);
      const double mse = quantization_sse(w, mse_scale(w, L), L);
      EXPECT_LE(mse, naive) << bits << " bits, seed " << seed;
      if (bits <= 4) {
        EXPECT_LT(mse, 0.8 * naive) << bits << " bits, seed " << seed;
      }
    }
}

// Bias correction removes the expected output shift: on inputs with the given channel means,
// the mean of (W_q x + b') equals the mean of (W x + b), for a grouped conv's taps.
TEST(Quant, BiasCorrectionRemovesTheMeanShift) {
  const int64_t m = 4, c = 4, group = 2, taps = 9, cg = c / group;
  const std::vector<float> w = gaussian(size_t(m * cg * taps), 3, 0.3f);
  const QuantizedWeights q = quantize_weights(w, m, 3, false);
  const std::vector<float> wq = dequantize_weights(q);
  const std::vector<double> mean{0.5, 2.0, -1.0, 3.0};
  const std::vector<double> shift = bias_shift(w, wq, m, group, taps, mean);
  // Inputs: constant patches equal to the channel mean (the expectation of a linear layer).
  for (int64_t o = 0; o < m; ++o) {
    double y = 0, yq = 0;
    const int64_t c0 = (o / (m / group)) * cg;
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t t = 0; t < taps; ++t) {
        const size_t k = size_t((o * cg + ci) * taps + t);
        y += double(w[k]) * mean[c0 + ci];
        yq += double(wq[k]) * mean[c0 + ci];
      }
    EXPECT_GT(std::abs(yq - y), 1e-3) << o;  // there is a shift to remove
    EXPECT_NEAR(yq - shift[o], y, 1e-9) << o;
  }
}

TEST(Quant, ActivationClipMethods) {
  AbsHistogram h;
  h.max_abs = 100;
  h.counts.assign(1000, 0.0);
  for (size_t i = 0; i < 100; ++i) h.counts[i] = 1e6;  // bulk in [0, 10)
  h.counts[999] = 1;                                   // one outlier at ~100
  EXPECT_DOUBLE_EQ(activation_clip(h, ActScale::kMinMax, 255), 100);
  const double p = activation_clip(h, ActScale::kPercentile, 255, 99.9);
  EXPECT_NEAR(p, 10, 0.2);
  const double mse = activation_clip(h, ActScale::kMse, 127);
  EXPECT_LT(mse, 20);  // the single outlier is not worth the rounding noise of a wide grid
  EXPECT_GE(mse, 9);
  EXPECT_EQ(activation_clip(AbsHistogram{}, ActScale::kMse, 127), 0);
  EXPECT_EQ(parse_act_scale("percentile"), ActScale::kPercentile);
  EXPECT_THROW(parse_act_scale("kl"), UsageError);
}

}  // namespace
}  // namespace autocompress
