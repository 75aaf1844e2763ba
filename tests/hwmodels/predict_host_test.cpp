#include "hwmodels/predict_host.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "hwmodels/roofline.hpp"
#include "model/onnx_io.hpp"
#include "synthetic_host.hpp"
#include "tests/common/temp_dir.hpp"

namespace ac = autocompress;
using ac::LayerKind;
namespace t = ac::testing;

namespace {

const ac::HostInfo kHost{"Test CPU", "2.6.0"};
const std::string kStamp = "2026-01-01 00:00:00";

// Cache entries of the synthetic layers (latencies from the truth profile), except `skip`.
std::vector<ac::CachedMeasurement> entries_without(size_t skip, int threads = 2) {
  std::vector<ac::CachedMeasurement> out;
  const auto layers = t::synthetic_layers();
  for (size_t k = 0; k < layers.size(); ++k)
    if (k != skip)
      out.push_back({ac::layer_signature({layers[k], threads, kHost}),
                     ac::roofline(layers[k], t::truth_profile()).latency_s, 5, kStamp});
  return out;
}

TEST(PredictHost, CacheForMeasuredShapesCalibratedRooflineOtherwise) {
  const size_t unseen = 5;
  const auto layers = t::synthetic_layers();
  // Starts from the untuned profile: the fit to the cache must recover the truth's efficiencies.
  const auto m = ac::fit_host_model(t::fixed_profile(), entries_without(unseen), 2, kHost);
  EXPECT_EQ(m.layer_samples, int(layers.size() - 1));
  EXPECT_EQ(m.model_samples, 0);
  const auto pred = ac::predict_host(layers, m);
  ASSERT_EQ(pred.layer_s.size(), layers.size());
  double total = 0;
  for (size_t k = 0; k < layers.size(); ++k) {
    const double truth = ac::roofline(layers[k], t::truth_profile()).latency_s;
    EXPECT_EQ(pred.measured[k], k != unseen) << k;
    if (k == unseen)
      EXPECT_NEAR(pred.layer_s[k], truth, 1e-6 * truth);  // modeled, by the fitted roofline
    else
      EXPECT_EQ(pred.layer_s[k], truth);  // the cached value itself
    total += pred.layer_s[k];
  }
  // The unseen depthwise layer has cached neighbours of its geometry (other channel counts).
  EXPECT_TRUE(pred.scaled[unseen]);
  // No model samples: layers simply add up.
  EXPECT_NEAR(pred.total_s, total, 1e-12 * total);
  // A geometry never measured (5x5 kernel): the fitted roofline of its mode, exactly.
  const auto five = t::conv(32, 64, 28, 5);
  const auto alone = ac::predict_host({five}, m);
  EXPECT_FALSE(alone.measured[0]);
  EXPECT_FALSE(alone.scaled[0]);
  EXPECT_EQ(alone.layer_s[0], ac::roofline(five, m.mode_profile[0]).latency_s);
  EXPECT_NEAR(alone.layer_s[0], ac::roofline(five, t::truth_profile()).latency_s,
              1e-6 * alone.layer_s[0]);
}

// This host has no sub-byte kernels: an int8 layer with 4-bit weights runs (and was measured) as
// the 8-bit one, a weight-only 4-bit fp32 layer as the fp32 one.
TEST(PredictHost, FourBitWeightsFindTheirModesKernelInTheCache) {
  const auto int8 = t::conv(64, 64, 16, 3, ac::Precision::kInt8);
  const auto fp32 = t::conv(64, 64, 16, 3);
  const std::vector<ac::CachedMeasurement> cached{
      {ac::layer_signature({ac::as_run_here(int8), 2, kHost}), 3e-5, 5, kStamp},
      {ac::layer_signature({ac::as_run_here(fp32), 2, kHost}), 9e-5, 5, kStamp}};
  const auto m = ac::fit_host_model(t::fixed_profile(), cached, 2, kHost);
  const auto pred = ac::predict_host({t::conv(64, 64, 16, 3, ac::Precision::kInt8, 4),
                                      t::conv(64, 64, 16, 3, ac::Precision::kFp32, 4)},
                                     m);
  EXPECT_TRUE(pred.measured[0]);
  EXPECT_EQ(pred.layer_s[0], 3e-5);
  EXPECT_TRUE(pred.measured[1]);
  EXPECT_EQ(pred.layer_s[1], 9e-5);
  // The roofline of a fixed-width target agrees: bits beyond the mode's are not faster.
  EXPECT_EQ(ac::roofline(t::conv(64, 64, 16, 3, ac::Precision::kInt8, 4), m.profile).latency_s,
            ac::roofline(int8, m.profile).latency_s);
}

// A layer measured in its schedule's weights context (the model's weights fit L3 or not) is read
// from that entry; without one, from the context-free entry.
TEST(PredictHost, PrefersTheMeasurementInTheSameWeightsContext) {
  const auto big = t::conv(512, 512, 2, 3), small = t::conv(64, 64, 8, 3);
  auto in = [](ac::LayerDesc d, int llc) {
    d.llc = llc;
    return ac::layer_signature({ac::as_run_here(d), 2, kHost});
  };
  const std::vector<ac::CachedMeasurement> cached{{in(big, -1), 2e-4, 5, kStamp},
                                                  {in(big, 0), 2e-4, 5, kStamp},
                                                  {in(big, 1), 1e-4, 5, kStamp},
                                                  {in(small, -1), 5e-5, 5, kStamp}};
  auto m = ac::fit_host_model(t::fixed_profile(), cached, 2, kHost);
  EXPECT_EQ(m.layer_samples, 2);  // the context-free entries; the others are lookups only
  const double weights = 512.0 * 512 * 9 * 4;  // the big conv's, in fp32
  m.llc_bytes = 2 * weights;                   // both layers fit: context 1
  auto fits = ac::predict_host({big, small}, m);
  EXPECT_EQ(fits.layer_s[0], 1e-4);
  EXPECT_EQ(fits.layer_s[1], 5e-5);  // no entry in context 1: the context-free one
  m.llc_bytes = weights / 2;         // they do not fit: context 0
  EXPECT_EQ(ac::predict_host({big, small}, m).layer_s[0], 2e-4);
  EXPECT_EQ(ac::weights_context({big, small}, 0), -1);
}

TEST(PredictHost, ScalesACachedLayerOfTheSameGeometryByTheRooflineRatio) {
  // One cached conv measured 2x slower than the untuned profile predicts: a pruned variant of
  // it (fewer channels, same geometry) is predicted 2x its roofline too.
  const auto p = t::fixed_profile();
  const auto big = t::conv(64, 64, 16, 3), pruned = t::conv(48, 32, 16, 3);
  const double measured = 2 * ac::roofline(big, p).latency_s;
  const std::vector<ac::CachedMeasurement> one{
      {ac::layer_signature({big, 2, kHost}), measured, 5, kStamp}};
  auto m = ac::fit_host_model(p, one, 2, kHost);
  m.mode_profile.fill(p);  // one sample fits anything; compare against the untuned roofline
  m.geometry.clear();
  m.geometry[ac::geometry_key(big)].push_back({big, measured, ac::roofline(big, p).latency_s});
  EXPECT_EQ(ac::geometry_key(big), ac::geometry_key(pruned));
  const auto pred = ac::predict_host({pruned}, m);
  EXPECT_TRUE(pred.scaled[0]);
  EXPECT_NEAR(pred.layer_s[0], 2 * ac::roofline(pruned, p).latency_s, 1e-15);
}

TEST(PredictHost, OtherThreadsOrHostAreNotHits) {
  const auto layers = t::synthetic_layers();
  const auto m = ac::fit_host_model(t::fixed_profile(), entries_without(99, 1), 2, kHost);
  EXPECT_EQ(m.layer_samples, 0);
  EXPECT_TRUE(m.layers.empty());
  for (bool hit : ac::predict_host(layers, m).measured) EXPECT_FALSE(hit);
  const auto other =
      ac::fit_host_model(t::fixed_profile(), entries_without(99, 2), 2, {"Other CPU", "2.6.0"});
  EXPECT_TRUE(other.layers.empty());
}

TEST(ModelSignature, RoundTripsForThisHostOnly) {
  const auto sig = ac::model_signature({"a", "b"}, 1.25e-3, 4096, 2, kHost);
  EXPECT_THROW(ac::parse_signature(sig), ac::DataError);  // not a layer
  const auto s = ac::parse_model_signature(sig, 2e-3, 2, kHost);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->layers_s, 1.25e-3);
  EXPECT_EQ(s->reorder_bytes, 4096);
  EXPECT_EQ(s->seconds, 2e-3);
  EXPECT_FALSE(ac::parse_model_signature(sig, 2e-3, 1, kHost));
  EXPECT_FALSE(ac::parse_model_signature(sig, 2e-3, 2, {"Other CPU", "2.6.0"}));
  EXPECT_NE(ac::model_signature({"a", "c"}, 1.25e-3, 4096, 2, kHost), sig);
}

TEST(PredictHost, WholeModelScaleReordersAndFixedOverheadAreFitted) {
  // model_s = 1.2 x layers + 2e-10 s/B x reorder bytes + 50 us, on four distinct models.
  std::vector<ac::CachedMeasurement> entries;
  const double layers[] = {1e-3, 2e-3, 4e-4, 3e-3}, bytes[] = {0, 1e6, 5e5, 4e6};
  for (int k = 0; k < 4; ++k)
    entries.push_back({ac::model_signature({std::to_string(k)}, layers[k], bytes[k], 2, kHost),
                       1.2 * layers[k] + 2e-10 * bytes[k] + 5e-5, 5, kStamp});
  const auto m = ac::fit_host_model(t::fixed_profile(), entries, 2, kHost);
  EXPECT_EQ(m.model_samples, 4);
  EXPECT_NEAR(m.layer_scale, 1.2, 1e-9);
  EXPECT_NEAR(m.reorder_s_per_byte, 2e-10, 1e-18);
  EXPECT_NEAR(m.fixed_s, 5e-5, 1e-12);
  // A schedule of one layer and one fp32 -> bf16 reorder of 1x16x8x8 (6 bytes per element).
  auto conv = t::conv(16, 16, 8, 3);
  ac::LayerDesc reorder = conv;
  reorder.kind = LayerKind::kReorder;
  reorder.c_in = 16, reorder.wbits = 0, reorder.abits = 32, reorder.obits = 16;
  const auto pred = ac::predict_host({reorder, conv}, m);
  const double conv_s = ac::roofline(conv, m.profile).latency_s;
  EXPECT_NEAR(pred.layer_s[0], 2e-10 * 16 * 64 * 6, 1e-18);
  EXPECT_NEAR(pred.total_s, 1.2 * conv_s + pred.layer_s[0] + 5e-5, 1e-15);
}

TEST(PredictHost, FewOrAlikeModelsFitNoFixedOverhead) {
  // Two runs of models of about the same size cannot separate a fixed term from the scale.
  std::vector<ac::CachedMeasurement> entries;
  for (int k = 0; k < 2; ++k)
    entries.push_back({ac::model_signature({std::to_string(k)}, 1e-3 * (1 + 0.1 * k), 0, 2, kHost),
                       2e-3 * (1 + 0.1 * k), 5, kStamp});
  const auto m = ac::fit_host_model(t::fixed_profile(), entries, 2, kHost);
  EXPECT_EQ(m.fixed_s, 0);
  EXPECT_NEAR(m.layer_scale, 2, 1e-9);
}

// A real measurement into a temporary cache: measured once, then read back.
TEST(PredictHost, MeasuresUnseenShapesIntoTheCache) {
  const ac::testing::TempDir tmp("ac_predict_host");
  const std::string dir = tmp.str();
  {
    ac::MeasureCache cache(dir + "/m.db");
    const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/examples/fashion_cnn.onnx");
    const auto profile = ac::find_profile("host");
    const auto schedule = ac::describe(g, 2);
    auto m = ac::load_host_model(profile, cache, 1);
    // Without measure_unseen nothing runs: every layer is modeled, the cache stays empty.
    const auto cold = ac::predict_host(g, schedule, m, cache, {false, 2});
    for (bool hit : cold.measured) EXPECT_FALSE(hit);
    EXPECT_TRUE(cache.all().empty());
    const auto warm = ac::predict_host(g, schedule, m, cache, {true, 2});
    for (size_t k = 0; k < schedule.size(); ++k) EXPECT_TRUE(warm.measured[k]) << k;
    // The layers (also under their weights context when the L3 size is known), one model sample.
    EXPECT_EQ(cache.all().size(), schedule.size() * (ac::host_llc_bytes() > 0 ? 2 : 1) + 1);
    // A fresh model reads them back, and the whole-model fit has its sample.
    const auto again = ac::load_host_model(profile, cache, 1);
    EXPECT_EQ(again.model_samples, 1);
    EXPECT_EQ(again.layer_samples, int(schedule.size()));
    const auto read = ac::predict_host(schedule, again);
    EXPECT_EQ(read.layer_s, warm.layer_s);
    // Another batch is another shape: modeled again.
    for (bool hit : ac::predict_host(ac::describe(g, 3), again).measured) EXPECT_FALSE(hit);
  }
}

}  // namespace
