// Energy of a layer and the whole-model prediction (roofline + energy, summed over the
// schedule, reorders included). Pure functions.
//
//   energy = MACs x e_mac(mode, bits) + DRAM bytes x e_dram + on-chip bytes x e_onchip
//
// e_mac on fixed-width targets is the profile's per-mode figure (Horowitz, ISSCC 2014: fp32
// mult + add = 3.7 + 0.9 pJ at 45 nm). On bit-flexible targets an int8 MAC of wb x ab bits costs
// mult_8x8 x (wb x ab) / 64 + add_8 x (wb + ab) / 16: multiplier energy grows with the square of
// the width, adder energy linearly. Element-wise and pooling operations count as one MAC each.
#pragma once

#include <vector>

#include "hwmodels/roofline.hpp"

namespace autocompress {

struct LayerEnergy {
  double mac_pj = 0, dram_pj = 0, onchip_pj = 0;
  double total_pj() const { return mac_pj + dram_pj + onchip_pj; }
};

// Energy of one MAC in `mode` with operands of wbits x abits (0 = the mode's width).
double mac_energy_pj(const Profile& p, Precision mode, int wbits, int abits);
LayerEnergy energy(const LayerDesc& d, const LayerCost& c, const Profile& p);

struct Prediction {
  std::vector<LayerCost> cost;      // one per LayerDesc
  std::vector<LayerEnergy> energy;  // one per LayerDesc
  double latency_s = 0;
  double energy_pj = 0;
};
// Per-layer roofline and energy of a schedule (describe()) on p, and their sums.
Prediction predict(const std::vector<LayerDesc>& schedule, const Profile& p);

}  // namespace autocompress
