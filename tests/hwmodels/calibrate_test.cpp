#include "hwmodels/calibrate.hpp"

#include <gtest/gtest.h>

#include <map>

#include "common/error.hpp"
#include "hwmodels/roofline.hpp"
#include "layer_builders.hpp"
#include "synthetic_host.hpp"
#include "test_profiles.hpp"

namespace ac = autocompress;
using ac::LayerKind;
namespace t = ac::testing;

namespace {

using t::synthetic_layers;
const auto truth = t::truth_profile;

std::vector<ac::LatencySample> samples_from(const ac::Profile& p) {
  std::vector<ac::LatencySample> s;
  for (const auto& d : synthetic_layers()) s.push_back({d, ac::roofline(d, p).latency_s});
  return s;
}

TEST(Nnls, UnconstrainedOptimumWhenNonNegative) {
  Eigen::MatrixXd A(3, 2);
  A << 1, 0, 0, 1, 1, 1;
  Eigen::VectorXd b(3);
  b << 1, 2, 3;
  const auto x = ac::nnls_small(A, b);
  EXPECT_NEAR(x[0], 1, 1e-12);
  EXPECT_NEAR(x[1], 2, 1e-12);
}

TEST(Nnls, ClampsANegativeComponentOptimally) {
  // Unconstrained: x = (2, -1). With x >= 0 the optimum is x1 = 0, x0 = argmin on column 0.
  Eigen::MatrixXd A(2, 2);
  A << 1, 1, 0, 1;
  Eigen::VectorXd b(2);
  b << 1, -1;
  const auto x = ac::nnls_small(A, b);
  EXPECT_NEAR(x[0], 1, 1e-12);
  EXPECT_EQ(x[1], 0);
}

TEST(Nnls, RejectsTooManyColumns) {
  EXPECT_THROW(ac::nnls_small(Eigen::MatrixXd::Ones(20, 17), Eigen::VectorXd::Ones(20)),
               ac::UsageError);
}

TEST(Calibrate, RecoversKnownEfficienciesAndOverhead) {
  auto start = t::fixed_profile();  // efficiency 1 (depthwise 0.5), overhead 1 us
  const auto fit = ac::calibrate(start, samples_from(truth()));
  const auto want = truth();
  for (auto k : {LayerKind::kConv, LayerKind::kDepthwise, LayerKind::kGemm, LayerKind::kPool})
    EXPECT_NEAR(fit.profile.eff(k), want.eff(k), 1e-9) << ac::kind_name(k);
  EXPECT_NEAR(fit.profile.overhead_s, 3e-6, 1e-15);
  EXPECT_LT(fit.rms_relative_error, 1e-9);
  EXPECT_EQ(fit.samples[int(LayerKind::kConv)], 4);
  EXPECT_EQ(fit.samples[int(LayerKind::kEltwise)], 0);
  // Kinds without samples keep the starting profile's factor.
  EXPECT_EQ(fit.profile.eff(LayerKind::kEltwise), start.eff(LayerKind::kEltwise));
}

TEST(Calibrate, OverheadNeverNegative) {
  // Latencies below the roofline by a constant would need a negative overhead: it clamps to 0.
  auto s = samples_from(truth());
  for (auto& x : s) x.seconds = std::max(1e-9, x.seconds - 5e-6);
  const auto fit = ac::calibrate(t::fixed_profile(), s);
  EXPECT_GE(fit.profile.overhead_s, 0);
  for (int k = 0; k < ac::kNumKinds; ++k) EXPECT_GT(fit.profile.efficiency[k], 0);
}

TEST(Calibrate, RejectsNoSamplesAndNonPositiveLatency) {
  EXPECT_THROW(ac::calibrate(t::fixed_profile(), {}), ac::UsageError);
  EXPECT_THROW(ac::calibrate(t::fixed_profile(), {{t::conv(16, 16, 8, 3), 0.0}}), ac::UsageError);
}

TEST(LatencyCsv, ParsesSignaturesBackIntoLayers) {
  const ac::HostInfo host{"Test CPU", "2.6.0"};
  std::string csv = "signature,latency_seconds\n# a comment\n\n";
  const auto layers = synthetic_layers();
  for (size_t k = 0; k < layers.size(); ++k)
    csv += ac::layer_signature({layers[k], 2, host}) + "," + std::to_string(1e-5 * double(k + 1)) +
           "\r\n";
  const auto s = ac::parse_latency_csv(csv, "layers.csv");
  ASSERT_EQ(s.size(), layers.size());
  for (size_t k = 0; k < s.size(); ++k) {
    EXPECT_EQ(s[k].layer.kind, layers[k].kind);
    EXPECT_EQ(s[k].layer.c_in, layers[k].c_in);
    EXPECT_NEAR(s[k].seconds, 1e-5 * double(k + 1), 1e-12);
  }
}

TEST(LatencyCsv, BadLineNamesFileAndLine) {
  try {
    ac::parse_latency_csv("signature,latency_seconds\nconv|b=1|fp32 no comma\n", "l.csv");
    FAIL();
  } catch (const ac::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("l.csv:2"), std::string::npos) << e.what();
  }
  const auto sig = ac::layer_signature({t::conv(16, 16, 8, 3), 1, {"c", "2.6.0"}});
  EXPECT_THROW(ac::parse_latency_csv(sig + ",-1\n", "l.csv"), ac::DataError);
  EXPECT_THROW(ac::parse_latency_csv(sig + ",fast\n", "l.csv"), ac::DataError);
}

}  // namespace

namespace {

TEST(SamplesFromCache, KeepsThisHostAndThreadsOnly) {
  const ac::HostInfo host{"Test CPU", "2.6.0"}, other{"Other CPU", "2.6.0"};
  const auto d = t::conv(16, 32, 8, 3);
  const std::vector<ac::CachedMeasurement> entries{
      {ac::layer_signature({d, 2, host}), 1e-5, 5, "2026-01-01 00:00:00"},
      {ac::layer_signature({d, 1, host}), 2e-5, 5, "2026-01-01 00:00:00"},
      {ac::layer_signature({d, 2, other}), 3e-5, 5, "2026-01-01 00:00:00"},
      {"not a signature", 4e-5, 5, "2026-01-01 00:00:00"}};
  const auto s = ac::samples_from_cache(entries, host, 2);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seconds, 1e-5);
  EXPECT_EQ(s[0].layer.c_out, 32);
}

}  // namespace
