#include "evaluator/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace autocompress {
namespace {

using F = std::vector<float>;
using L = std::vector<int64_t>;

TEST(Metrics, EmptyAccumulatorReportsNothing) {
  const Metrics m = MetricsAccumulator(10).result();
  EXPECT_EQ(m.count, 0);
  EXPECT_FALSE(m.top1 || m.top5 || m.agreement || m.kl);
}

TEST(Metrics, Top1AndTop5) {
  MetricsAccumulator acc(6);
  const F logits = {
      0.0f, 0.9f, 0.1f, 0.2f, 0.3f, 0.4f,  // argmax 1, label 1: top-1 and top-5
      0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.0f,  // label 4 is 5th: top-5 only
      0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.0f,  // label 5 is 6th: neither
      6.0f, 5.0f, 4.0f, 3.0f, 2.0f, 1.0f,  // label 0: both
  };
  acc.add(logits, L{1, 4, 5, 0}, {});
  const Metrics m = acc.result();
  EXPECT_EQ(m.count, 4);
  EXPECT_EQ(m.top1, 0.5);
  EXPECT_EQ(m.top5, 0.75);
  EXPECT_FALSE(m.agreement);
  EXPECT_FALSE(m.kl);
}

TEST(Metrics, TiesGoToTheLowestIndex) {
  MetricsAccumulator acc(3);
  acc.add(F{1, 1, 0}, L{1}, {});  // argmax is 0, so label 1 misses
  acc.add(F{1, 1, 0}, L{0}, {});
  acc.add(F{2, 7, 7}, L{1}, {});
  acc.add(F{2, 7, 7}, L{2}, {});
  EXPECT_EQ(acc.result().top1, 0.5);
}

TEST(Metrics, Top5TiesUseIndexOrder) {
  MetricsAccumulator acc(6);
  const F flat(6, 0.25f);
  acc.add(flat, L{4}, {});  // rank 4: in the top five
  acc.add(flat, L{5}, {});  // rank 5: not
  const Metrics m = acc.result();
  EXPECT_EQ(m.top1, 0.0);
  EXPECT_EQ(m.top5, 0.5);
}

TEST(Metrics, NoTop5BelowFiveClasses) {
  MetricsAccumulator acc(4);
  acc.add(F{0, 1, 2, 3}, L{3}, {});
  EXPECT_EQ(acc.result().top1, 1.0);
  EXPECT_FALSE(acc.result().top5);
  MetricsAccumulator five(5);
  five.add(F{0, 1, 2, 3, 4}, L{0}, {});
  EXPECT_EQ(five.result().top5, 1.0);
}

TEST(Metrics, NanIsTheArgmaxLikeNumpy) {
  MetricsAccumulator acc(3);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  acc.add(F{1, nan, nan}, L{1}, F{0, 5, 0});
  EXPECT_EQ(acc.result().top1, 1.0);
  EXPECT_EQ(acc.result().agreement, 1.0);
}

TEST(Metrics, AgreementWithReference) {
  MetricsAccumulator acc(3);
  acc.add(F{0, 1, 0, /**/ 3, 2, 1, /**/ 5, 5, 0, /**/ 0, 0, 1}, {},
          F{0, 2, 1, /**/ 1, 2, 3, /**/ 1, 0, 0, /**/ 0, 1, 0});
  const Metrics m = acc.result();
  EXPECT_EQ(m.count, 4);
  EXPECT_EQ(m.agreement, 0.5);  // rows 0 and 2 (tie 5,5 -> index 0) agree
  EXPECT_FALSE(m.top1);
}

TEST(Metrics, KlOfIdenticalLogitsIsZero) {
  MetricsAccumulator acc(4);
  const F x = {0.3f, -1.2f, 7.5f, 2.0f};
  acc.add(x, {}, x);
  EXPECT_EQ(acc.result().kl, 0.0);
  // A constant shift of the logits leaves the softmax unchanged.
  acc.add(F{1.3f, -0.2f, 8.5f, 3.0f}, {}, F{0.5f, -1.0f, 7.7f, 2.2f});
  EXPECT_NEAR(*acc.result().kl, 0.0, 1e-12);
}

TEST(Metrics, KlHandComputed) {
  // ref softmax (1/2, 1/2), ours softmax (1/4, 3/4): KL = 1/2 ln 2 + 1/2 ln(2/3) = 1/2 ln(4/3).
  MetricsAccumulator acc(2);
  acc.add(F{0.0f, std::log(3.0f)}, {}, F{0.0f, 0.0f});
  EXPECT_NEAR(*acc.result().kl, 0.5 * std::log(4.0 / 3.0), 1e-7);
  // ours softmax (1/2, 1/2), ref softmax (1/4, 3/4): 1/4 ln(1/2) + 3/4 ln(3/2).
  MetricsAccumulator rev(2);
  rev.add(F{5.0f, 5.0f}, {}, F{0.0f, std::log(3.0f)});
  EXPECT_NEAR(*rev.result().kl, 0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-7);
}

TEST(Metrics, KlIsStableForLargeLogits) {
  // exp(1000) overflows; log-sum-exp does not. ref (1, e^-1000) vs ours (1/2, 1/2): ln 2.
  MetricsAccumulator acc(2);
  acc.add(F{1000.0f, 1000.0f}, {}, F{1000.0f, 0.0f});
  EXPECT_NEAR(*acc.result().kl, std::log(2.0), 1e-12);
  // ref (1/2, 1/2) vs ours (1, e^-1000): 1/2 (-ln 2) + 1/2 (1000 - ln 2) = 500 - ln 2.
  MetricsAccumulator far(2);
  far.add(F{0.0f, -1000.0f}, {}, F{0.0f, 0.0f});
  EXPECT_NEAR(*far.result().kl, 500.0 - std::log(2.0), 1e-9);
}

TEST(Metrics, KlIsTheMeanOverSamplesAcrossBatches) {
  MetricsAccumulator acc(2);
  acc.add(F{0.0f, -1000.0f}, {}, F{0.0f, 0.0f});
  acc.add(F{1, 2, 3, 4}, {}, F{1, 2, 3, 4});
  EXPECT_EQ(acc.result().count, 3);
  EXPECT_NEAR(*acc.result().kl, (500.0 - std::log(2.0)) / 3.0, 1e-9);
}

TEST(Metrics, BatchesWithAndWithoutLabels) {
  MetricsAccumulator acc(2);
  acc.add(F{1, 0}, L{0}, {});
  acc.add(F{1, 0, 0, 1}, {}, F{1, 0, 1, 0});
  const Metrics m = acc.result();
  EXPECT_EQ(m.count, 3);
  EXPECT_EQ(m.top1, 1.0);       // over the one labelled sample
  EXPECT_EQ(m.agreement, 0.5);  // over the two referenced samples
}

std::string invalid_argument_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument";
  return "";
}

TEST(Metrics, ValidatesSizes) {
  EXPECT_THROW(MetricsAccumulator(0), std::invalid_argument);
  MetricsAccumulator acc(3);
  std::string msg = invalid_argument_message([&] { acc.add(F(7, 0.0f), {}, {}); });
  EXPECT_NE(msg.find("7 logits"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 classes"), std::string::npos) << msg;
  msg = invalid_argument_message([&] { acc.add(F(6, 0.0f), L{1, 2, 0}, {}); });
  EXPECT_NE(msg.find("3 labels for a batch of 2"), std::string::npos) << msg;
  msg = invalid_argument_message([&] { acc.add(F(6, 0.0f), {}, F(3, 0.0f)); });
  EXPECT_NE(msg.find("3 reference logits for 6 logits"), std::string::npos) << msg;
  msg = invalid_argument_message([&] { acc.add(F(3, 0.0f), L{3}, {}); });
  EXPECT_NE(msg.find("label 3 out of range for 3 classes"), std::string::npos) << msg;
  EXPECT_EQ(acc.result().count, 0);  // nothing was counted by the failed calls
}

TEST(Top1, LargestLogitPerRowFirstOnTies) {
  std::vector<int64_t> out{7};  // appended to
  append_top1(F{0.1f, 0.9f, 0.0f, 2.0f, 2.0f, -1.0f, -3.0f, -2.0f, -2.5f}, 3, out);
  EXPECT_EQ(out, (L{7, 1, 0, 1}));
}

TEST(PairedDrop, MeanAndStandardError) {
  // Differences 1, 0, 0, -1, 1, 0: drop = mean, se = sd / sqrt(n).
  const std::vector<uint8_t> orig{1, 1, 1, 0, 1, 1}, cand{0, 1, 1, 1, 0, 1};
  const PairedDrop d = paired_drop(orig, cand);
  EXPECT_EQ(d.n, 6);
  EXPECT_DOUBLE_EQ(d.drop, 100.0 * 1 / 6);
  const double mean = 1.0 / 6,
               var = (2 * std::pow(1 - mean, 2) + std::pow(-1 - mean, 2) + 3 * mean * mean) / 5;
  EXPECT_NEAR(d.se, 100 * std::sqrt(var / 6), 1e-9);
  EXPECT_NEAR(d.original, 5.0 / 6, 1e-12);
  EXPECT_NEAR(d.accuracy, 4.0 / 6, 1e-12);
  // The common prefix only; nothing at all: n = 0 and zeros.
  EXPECT_EQ(paired_drop(orig, std::vector<uint8_t>{1, 1}).n, 2);
  EXPECT_DOUBLE_EQ(paired_drop(orig, std::vector<uint8_t>{1, 1}).drop, 0);
  EXPECT_EQ(paired_drop({}, cand).n, 0);
}

}  // namespace
}  // namespace autocompress
