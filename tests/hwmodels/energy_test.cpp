// Hand-computed energy cases, and the whole-model predictions on the bundled profiles.
#include "hwmodels/energy.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "layer_builders.hpp"
#include "model/onnx_io.hpp"
#include "test_profiles.hpp"

namespace ac = autocompress;
namespace t = autocompress::testing;
using ac::Precision;

namespace {

// fp32 conv of roofline_test: 115,605,504 MACs x 4.6 pJ + 1,753,088 B x (200 + 1.25) pJ
// (DRAM once, on-chip once: batch 1) = 531,785,318.4 + 352,808,960 pJ.
TEST(Energy, Fp32Conv) {
  const ac::Profile p = t::fixed_profile();
  const auto d = t::conv(64, 64, 56, 3);
  const auto e = ac::energy(d, ac::roofline(d, p), p);
  EXPECT_EXACT(e.mac_pj, 531785318.4);
  EXPECT_EXACT(e.dram_pj, 350617600.0);
  EXPECT_EXACT(e.onchip_pj, 2191360.0);
  EXPECT_EXACT(e.total_pj(), 884594278.4);
}

// int8: 0.3 pJ per MAC, 438,272 bytes.
TEST(Energy, Int8Conv) {
  const ac::Profile p = t::fixed_profile();
  const auto d = t::conv(64, 64, 56, 3, Precision::kInt8);
  EXPECT_EXACT(ac::energy(d, ac::roofline(d, p), p).total_pj(), 122883891.2);
}

// Bit-flexible MAC: 0.2 x wb ab / 64 + 0.03 x (wb + ab) / 16: 8x8 0.23, 4x4 0.065, 2x2 0.02.
TEST(Energy, BitFlexibleMacScalesWithBits) {
  const ac::Profile p = t::flexible_profile();
  EXPECT_EXACT(ac::mac_energy_pj(p, Precision::kInt8, 8, 8), 0.23);
  EXPECT_EXACT(ac::mac_energy_pj(p, Precision::kInt8, 4, 4), 0.065);
  EXPECT_EXACT(ac::mac_energy_pj(p, Precision::kInt8, 2, 2), 0.02);
  EXPECT_EXACT(ac::mac_energy_pj(p, Precision::kInt8, 2, 8), 0.06875);
  const auto d8 = t::conv(64, 64, 56, 3, Precision::kInt8, 8, 8);
  const auto d4 = t::conv(64, 64, 56, 3, Precision::kInt8, 4, 4);
  EXPECT_EXACT(ac::energy(d8, ac::roofline(d8, p), p).total_pj(), 114791505.92);
  EXPECT_EXACT(ac::energy(d4, ac::roofline(d4, p), p).total_pj(), 51615477.76);
  // Fixed-width targets: the per-mode figure whatever the bits.
  EXPECT_EXACT(ac::mac_energy_pj(t::fixed_profile(), Precision::kInt8, 4, 4), 0.3);
}

TEST(Predict, SumsLayers) {
  const ac::Profile p = t::fixed_profile();
  const std::vector<ac::LayerDesc> s = {t::conv(64, 64, 56, 3), t::gemm(4096, 4096)};
  const auto r = ac::predict(s, p);
  ASSERT_EQ(r.cost.size(), 2u);
  EXPECT_EXACT(r.latency_s, 1.15705504e-3 + 6.7151632e-3);
  EXPECT_EXACT(r.energy_pj, r.energy[0].total_pj() + r.energy[1].total_pj());
}

const ac::Graph& fashion() {
  static const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/examples/fashion_cnn.onnx");
  return g;
}

ac::Prediction at_bits(const ac::Profile& p, ac::Precision mode, int wbits, int abits,
                       int64_t batch = 1) {
  return ac::predict(ac::describe(fashion(), batch, {}, {mode, wbits, abits}), p);
}

// On the bit-flexible target every step down in bits lowers latency and energy.
TEST(Predict, BitFusionLowerBitsLowerLatencyAndEnergy) {
  const ac::Profile p = ac::find_profile("bitfusion");
  for (int64_t batch : {1, 16}) {
    const auto b8 = at_bits(p, Precision::kInt8, 8, 8, batch);
    const auto b4 = at_bits(p, Precision::kInt8, 4, 4, batch);
    const auto b2 = at_bits(p, Precision::kInt8, 2, 2, batch);
    const auto w4a8 = at_bits(p, Precision::kInt8, 4, 8, batch);
    EXPECT_LT(b4.latency_s, b8.latency_s);
    EXPECT_LT(b2.latency_s, b4.latency_s);
    EXPECT_LT(w4a8.latency_s, b8.latency_s);
    EXPECT_LT(b4.energy_pj, b8.energy_pj);
    EXPECT_LT(b2.energy_pj, b4.energy_pj);
    EXPECT_LT(w4a8.energy_pj, b8.energy_pj);
  }
}

// The host has no 4-bit compute: weight-only 4 bits under int8 or fp32 compute is not faster.
TEST(Predict, HostFourBitWeightsAreNotFasterThanInt8) {
  const ac::Profile p = ac::find_profile("host");
  for (int64_t batch : {1, 64}) {
    const auto i8 = at_bits(p, Precision::kInt8, 8, 8, batch);
    EXPECT_GE(at_bits(p, Precision::kInt8, 4, 8, batch).latency_s, i8.latency_s);
    EXPECT_GE(at_bits(p, Precision::kFp32, 4, 32, batch).latency_s, i8.latency_s);
    EXPECT_GE(at_bits(p, Precision::kFp32, 4, 32, batch).latency_s,
              at_bits(p, Precision::kFp32, 32, 32, batch).latency_s);
    EXPECT_LT(i8.latency_s, at_bits(p, Precision::kFp32, 32, 32, batch).latency_s);
  }
}

TEST(Predict, ResNet18OnEveryBundledTarget) {
  const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/tests/fixtures/resnet18_32.onnx");
  for (const char* name : {"host", "bitfusion"}) {
    const ac::Profile p = ac::find_profile(name);
    const auto r = ac::predict(ac::describe(g, 8, {}, {p.precisions[0], 0, 0}), p);
    EXPECT_GT(r.latency_s, 0) << name;
    EXPECT_GT(r.energy_pj, 0) << name;
    for (const auto& c : r.cost) EXPECT_TRUE(std::isfinite(c.latency_s)) << name;
  }
}

}  // namespace
