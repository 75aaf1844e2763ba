#include "hwmodels/predict_host.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "hwmodels/roofline.hpp"
#include "model/onnx_io.hpp"
#include "synthetic_host.hpp"

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
  // No model samples: layers simply add up.
  EXPECT_NEAR(pred.total_s, total, 1e-12 * total);
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

// A real measurement into a temporary cache: measured once, then read back.
TEST(PredictHost, MeasuresUnseenShapesIntoTheCache) {
  std::string tmpl = "/tmp/ac_predict_host_XXXXXX";
  const std::string dir = mkdtemp(tmpl.data());
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
    EXPECT_EQ(cache.all().size(), schedule.size() + 1);  // the layers and one model sample
    // A fresh model reads them back, and the whole-model fit has its sample.
    const auto again = ac::load_host_model(profile, cache, 1);
    EXPECT_EQ(again.model_samples, 1);
    EXPECT_EQ(again.layer_samples, int(schedule.size()));
    const auto read = ac::predict_host(schedule, again);
    EXPECT_EQ(read.layer_s, warm.layer_s);
    // Another batch is another shape: modeled again.
    for (bool hit : ac::predict_host(ac::describe(g, 3), again).measured) EXPECT_FALSE(hit);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
