// Hand-computed roofline cases on the round-number profiles of test_profiles.hpp.
#include "hwmodels/roofline.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "layer_builders.hpp"
#include "test_profiles.hpp"

namespace ac = autocompress;
namespace t = autocompress::testing;
using ac::Precision;

namespace {

// 64 -> 64, 3x3 on 56x56, fp32: 56*56*9*64*64 = 115,605,504 MACs in 1.15605504 ms at 1e11;
// bytes: weights 147,456 + input 802,816 + output 802,816 = 1,753,088 (0.175 ms at 1e10):
// compute-bound; weights + input = 950,272 <= 1e6 on-chip, so weights are read once.
TEST(Roofline, ComputeBoundConv) {
  const auto c = ac::roofline(t::conv(64, 64, 56, 3), t::fixed_profile());
  EXPECT_EXACT(c.macs, 115605504.0);
  EXPECT_EXACT(c.weight_bytes, 147456.0);
  EXPECT_EXACT(c.input_bytes, 802816.0);
  EXPECT_EXACT(c.output_bytes, 802816.0);
  EXPECT_EXACT(c.dram_bytes, 1753088.0);
  EXPECT_TRUE(c.weights_resident);
  EXPECT_EQ(c.bound, ac::Bound::kCompute);
  EXPECT_EXACT(c.compute_s, 1.15605504e-3);
  EXPECT_EXACT(c.memory_s, 1.753088e-4);
  EXPECT_EXACT(c.latency_s, 1.15705504e-3);
}

// Gemm 4096 -> 4096 at batch 1: 16,777,216 MACs (0.168 ms) but 64 MiB of fp32 weights that do
// not fit on-chip: 67,108,864 + 2 x 16,384 = 67,141,632 bytes = 6.7141632 ms at 1e10 B/s.
TEST(Roofline, MemoryBoundGemmAtBatch1) {
  const auto c = ac::roofline(t::gemm(4096, 4096), t::fixed_profile());
  EXPECT_EXACT(c.macs, 16777216.0);
  EXPECT_FALSE(c.weights_resident);
  EXPECT_EXACT(c.dram_bytes, 67141632.0);
  EXPECT_EQ(c.bound, ac::Bound::kMemory);
  EXPECT_EXACT(c.compute_s, 1.6777216e-4);
  EXPECT_EXACT(c.latency_s, 6.7151632e-3);
}

// Weights that do not fit: the cheaper loop order. At batch 4 the 64 MiB of weights are cut into
// ceil(67,108,864 / 500,000) = 135 tiles of half the buffer, each streaming the 4 x 16,384 input
// bytes: 67,108,864 + 135 x 65,536 + 65,536 = 76,021,760 bytes (per-sample streaming would read
// the weights 4 times). At batch 1 streaming the weights once is cheaper than re-reading inputs.
TEST(Roofline, WeightsThatDoNotFitTakeTheCheaperLoopOrder) {
  const auto c = ac::roofline(t::gemm(4096, 4096, 4), t::fixed_profile());
  EXPECT_EXACT(c.input_reads, 135.0);
  EXPECT_EXACT(c.weight_reads, 1.0);
  EXPECT_EXACT(c.dram_bytes, 76021760.0);
  const auto one = ac::roofline(t::gemm(4096, 4096, 1), t::fixed_profile());
  EXPECT_EXACT(one.input_reads, 1.0);
  EXPECT_EXACT(one.weight_reads, 1.0);
  // 1024 -> 1024 at batch 2: 4 MiB of weights = 9 tiles; tiles cost 4,194,304 + 9 x 8,192 while
  // per-sample streaming costs 2 x 4,194,304 + 8,192: tiles win; plus 8,192 output bytes.
  const auto mid = ac::roofline(t::gemm(1024, 1024, 2), t::fixed_profile());
  EXPECT_EXACT(mid.dram_bytes, 4194304.0 + 9 * 8192.0 + 8192.0);
  const auto small = ac::roofline(t::gemm(256, 256, 4), t::fixed_profile());
  EXPECT_TRUE(small.weights_resident);
  EXPECT_EXACT(small.dram_bytes, 262144.0 + 2 * 4 * 1024.0);
}

// Kernel taps in the zero padding are skipped: a 3x3 conv on a 1x1 input does 1 tap per pixel.
TEST(Roofline, PaddingTapsAreNotComputed) {
  ac::LayerDesc d = t::conv(512, 512, 1, 3);
  d.taps = 1;
  const auto c = ac::roofline(d, t::fixed_profile());
  EXPECT_EXACT(c.macs, 512.0 * 512);
  EXPECT_EXACT(c.weight_bytes, 9 * 512.0 * 512 * 4);
}

// Depthwise 3x3 on 32 x 28 x 28: 225,792 MACs (2.26 us) vs 1,152 + 2 x 100,352 = 201,856 bytes
// (20.19 us): memory-bound; efficiency 0.5 doubles it: 40.3712 us + 1 us overhead.
TEST(Roofline, DepthwiseIsMemoryBound) {
  const auto c = ac::roofline(t::depthwise(32, 28, 3), t::fixed_profile());
  EXPECT_EXACT(c.macs, 225792.0);
  EXPECT_EXACT(c.weight_bytes, 1152.0);
  EXPECT_EXACT(c.dram_bytes, 201856.0);
  EXPECT_EQ(c.bound, ac::Bound::kMemory);
  EXPECT_EXACT(c.latency_s, 4.13712e-5);
}

// The compute-bound conv in int8: 4x the rate (0.28901376 ms), a quarter of the bytes.
TEST(Roofline, Int8Conv) {
  const auto c = ac::roofline(t::conv(64, 64, 56, 3, Precision::kInt8), t::fixed_profile());
  EXPECT_EXACT(c.dram_bytes, 438272.0);
  EXPECT_EQ(c.bound, ac::Bound::kCompute);
  EXPECT_EXACT(c.compute_s, 2.8901376e-4);
  EXPECT_EXACT(c.latency_s, 2.9001376e-4);
}

// Bit-flexible: 4x4 operands run 4x the 8x8 rate (BitFusion: 4 F-PEs per Fusion Unit).
TEST(Roofline, BitFlexible4x4IsFourTimesFaster) {
  const ac::Profile p = t::flexible_profile();
  const auto c8 = ac::roofline(t::conv(64, 64, 56, 3, Precision::kInt8, 8, 8), p);
  const auto c4 = ac::roofline(t::conv(64, 64, 56, 3, Precision::kInt8, 4, 4), p);
  EXPECT_EQ(c8.bound, ac::Bound::kCompute);
  EXPECT_EQ(c4.bound, ac::Bound::kCompute);
  EXPECT_EXACT(c8.latency_s, 1.15705504e-3);
  EXPECT_EXACT(c4.latency_s, 2.9001376e-4);
  EXPECT_EXACT(c8.compute_s / c4.compute_s, 4.0);
  EXPECT_EXACT(c4.dram_bytes, 219136.0);  // packed 4-bit weights and activations
  // 3-bit operands occupy 4-bit BitBricks; 2x8 runs like 4x4.
  EXPECT_EXACT(ac::roofline(t::conv(64, 64, 56, 3, Precision::kInt8, 3, 3), p).compute_s,
               c4.compute_s);
  EXPECT_EXACT(ac::roofline(t::conv(64, 64, 56, 3, Precision::kInt8, 2, 8), p).compute_s,
               c4.compute_s);
}

// A fixed-width target has no 4-bit compute: int8 with 4-bit weights costs exactly int8.
TEST(Roofline, FixedWidthTargetGainsNothingFromFourBitWeights) {
  const ac::Profile p = t::fixed_profile();
  const auto c8 = ac::roofline(t::conv(64, 64, 56, 3, Precision::kInt8, 8, 8), p);
  const auto c4 = ac::roofline(t::conv(64, 64, 56, 3, Precision::kInt8, 4, 8), p);
  EXPECT_EXACT(c4.latency_s, c8.latency_s);
  EXPECT_EXACT(c4.dram_bytes, c8.dram_bytes);
  const auto w4 = ac::roofline(t::conv(64, 64, 56, 3, Precision::kFp32, 4, 32), p);
  EXPECT_EXACT(w4.latency_s, ac::roofline(t::conv(64, 64, 56, 3), p).latency_s);
}

// Channels pad to 16: latency is flat within a block of 16 and steps at each multiple.
TEST(Roofline, ChannelPaddingStepsAtMultiplesOf16) {
  const ac::Profile p = t::fixed_profile();
  auto lat = [&](int64_t c) { return ac::roofline(t::conv(c, c, 28, 3), p).latency_s; };
  for (int64_t c = 17; c <= 32; ++c) EXPECT_EXACT(lat(c), lat(32)) << c;
  EXPECT_LT(lat(16), lat(17));
  EXPECT_LT(lat(32), lat(33));
  EXPECT_EXACT(lat(33), lat(48));
  EXPECT_EQ(ac::pad_channels(1, 16), 16);
  EXPECT_EQ(ac::pad_channels(48, 16), 48);
  EXPECT_EQ(ac::pad_channels(5, 1), 5);
}

TEST(Roofline, PoolingEltwiseAndReorderAreCosted) {
  const ac::Profile p = t::fixed_profile();
  ac::LayerDesc pool = t::conv(32, 32, 14, 2);
  pool.kind = ac::LayerKind::kPool;
  pool.h_in = pool.w_in = 28;
  pool.stride = 2;
  pool.wbits = 0;
  const auto c = ac::roofline(pool, p);
  EXPECT_EXACT(c.macs, 32.0 * 14 * 14 * 4);
  EXPECT_EXACT(c.dram_bytes, 32.0 * 28 * 28 * 4 + 32.0 * 14 * 14 * 4);
  EXPECT_EQ(c.bound, ac::Bound::kMemory);

  ac::LayerDesc add = t::conv(32, 32, 14, 1);
  add.kind = ac::LayerKind::kEltwise;
  add.inputs = 2;
  add.wbits = 0;
  EXPECT_EXACT(ac::roofline(add, p).dram_bytes, 3 * 32.0 * 14 * 14 * 4);

  ac::LayerDesc r = t::conv(32, 32, 14, 1, Precision::kInt8);  // fp32 -> int8
  r.kind = ac::LayerKind::kReorder;
  r.wbits = 0, r.abits = 32, r.obits = 8;
  EXPECT_EXACT(ac::roofline(r, p).dram_bytes, 32.0 * 14 * 14 * 5);
}

TEST(Roofline, IllegalPrecisionNamesLayer) {
  ac::LayerDesc d = t::conv(16, 16, 8, 3);  // fp32 on an int8-only target
  d.name = "/layer1/conv";
  try {
    ac::roofline(d, t::flexible_profile());
    FAIL();
  } catch (const ac::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/layer1/conv"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("fp32"), std::string::npos);
  }
}

}  // namespace

namespace {

// A first layer with fewer input channels than one block reads a plain layout: 3 stays 3.
TEST(Roofline, FirstLayerInputChannelsAreNotPadded) {
  const ac::Profile p = t::fixed_profile();
  const auto c = ac::roofline(t::conv(3, 64, 32, 3), p);
  EXPECT_EXACT(c.macs, 32.0 * 32 * 9 * 3 * 64);
  EXPECT_EXACT(c.input_bytes, 3.0 * 32 * 32 * 4);
  EXPECT_EXACT(ac::roofline(t::conv(17, 64, 32, 3), p).macs, 32.0 * 32 * 9 * 32 * 64);
}

}  // namespace

namespace {

// Quantizing a 3-channel input: plain on both sides, 3 x 32 x 32 x (4 + 1) bytes.
TEST(Roofline, ReorderOfFewChannelsIsNotPadded) {
  ac::LayerDesc r = t::conv(3, 3, 32, 1, Precision::kInt8);
  r.kind = ac::LayerKind::kReorder;
  r.wbits = 0, r.abits = 32, r.obits = 8;
  EXPECT_EXACT(ac::roofline(r, t::fixed_profile()).dram_bytes, 3.0 * 32 * 32 * 5);
}

}  // namespace
