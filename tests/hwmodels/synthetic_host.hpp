// A synthetic host for the calibration and host-prediction tests: layers whose latencies come
// from a known profile, so a fit must recover that profile.
#pragma once

#include <vector>

#include "layer_builders.hpp"
#include "test_profiles.hpp"

namespace autocompress::testing {

// Layers of four kinds and several sizes (distinct roofline times, so the fit is determined).
inline std::vector<LayerDesc> synthetic_layers() {
  std::vector<LayerDesc> v;
  for (int64_t c : {16, 32, 64, 128}) {
    v.push_back(conv(c, 2 * c, 28, 3));
    v.push_back(depthwise(c, 14, 3));
    v.push_back(gemm(8 * c, c, 4));
    auto pool = conv(c, c, 14, 2);
    pool.kind = LayerKind::kPool;
    pool.h_out = pool.w_out = 7;
    pool.stride = 2;
    pool.wbits = 0;
    v.push_back(pool);
  }
  return v;
}

// The profile the synthetic latencies come from: fixed_profile() with other efficiencies and
// overhead.
inline Profile truth_profile() {
  auto p = fixed_profile();
  p.efficiency[int(LayerKind::kConv)] = 0.6;
  p.efficiency[int(LayerKind::kDepthwise)] = 0.25;
  p.efficiency[int(LayerKind::kGemm)] = 0.8;
  p.efficiency[int(LayerKind::kPool)] = 0.4;
  p.overhead_s = 3e-6;
  return p;
}

}  // namespace autocompress::testing
