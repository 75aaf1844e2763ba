// Round-number profiles for hand-computed cases, built as JSON so the parser is exercised too.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hwmodels/profile.hpp"

namespace autocompress::testing {

// fp32 1e11, bf16 2e11, int8 4e11 MAC/s; DRAM 1e10 B/s at 200 pJ/B; on-chip 1e6 B, 1e11 B/s at
// 1.25 pJ/B; overhead 1 us; channels padded to 16; efficiency 1 except depthwise 0.5.
inline nlohmann::json fixed_json() {
  return nlohmann::json::parse(R"({
    "name": "fixed", "description": "test", "verified": true,
    "precisions": ["fp32", "bf16", "int8"], "bit_flexible": false,
    "mac_per_s": {"fp32": 1e11, "bf16": 2e11, "int8": 4e11},
    "efficiency": {"conv": 1, "depthwise": 0.5, "gemm": 1, "pool": 1, "eltwise": 1,
                   "batchnorm": 1, "concat": 1, "reorder": 1},
    "channel_multiple": 16, "onchip_bytes": 1e6, "dram_bytes_per_s": 1e10,
    "onchip_bytes_per_s": 1e11, "overhead_s": 1e-6,
    "energy": {"label": "modeled", "mac_pj": {"fp32": 4.6, "bf16": 1.5, "int8": 0.3},
               "dram_pj_per_byte": 200, "onchip_pj_per_byte": 1.25}
  })");
}

// The same memory system, int8 only and bit-flexible: 8x8 at 1e11 MAC/s, BitBricks of 2 bits;
// MAC energy 0.2 x (wb ab / 64) + 0.03 x (wb + ab) / 16 pJ.
inline nlohmann::json flexible_json() {
  auto j = fixed_json();
  j["name"] = "flexible";
  j["precisions"] = {"int8"};
  j["bit_flexible"] = true;
  j["min_bits"] = 2;
  j["mac_per_s"] = {{"int8", 1e11}};
  j["energy"]["mac_pj"] = {{"int8", 0.23}};
  j["energy"]["mult_8x8_pj"] = 0.2;
  j["energy"]["add_8_pj"] = 0.03;
  return j;
}

inline Profile fixed_profile() { return parse_profile(fixed_json().dump(), "fixed.json"); }
inline Profile flexible_profile() { return parse_profile(flexible_json().dump(), "flexible.json"); }

// |a - b| within 1e-12 relative: the hand-computed values are exact up to summation order.
#define EXPECT_EXACT(a, b) EXPECT_NEAR((a), (b), 1e-12 * std::abs(double(b)))

}  // namespace autocompress::testing
