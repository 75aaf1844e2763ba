// Roofline latency of one layer on a target (Williams et al., CACM 2009) with the target's channel
// padding, storage widths, bit-flexible rates (BitFusion, Sharma et al. ISCA 2018) and a simple
// on-chip reuse model. Pure functions: plain structs in, numbers out. The equations:
// docs/hardware.md, "The model".
#pragma once

#include <vector>

#include "hwmodels/layer_desc.hpp"
#include "hwmodels/profile.hpp"

namespace autocompress {

enum class Bound { kCompute, kMemory };
const char* bound_name(Bound b);

struct LayerCost {
  double macs = 0;  // padded
  double weight_bytes = 0, input_bytes = 0, output_bytes = 0;
  double dram_bytes = 0, onchip_bytes = 0;
  bool weights_resident = true;  // weights + one sample's input fit on-chip
  double weight_reads = 1;       // times the weights come from DRAM
  double input_reads = 1;        // times the inputs come from DRAM
  double compute_s = 0, memory_s = 0, latency_s = 0;
  Bound bound = Bound::kCompute;
};

// c rounded up to a multiple of `multiple`.
int64_t pad_channels(int64_t c, int64_t multiple);
// Bits one operand occupies on the target (see the top comment). bits = 0: the mode's width.
int operand_bits(const Profile& p, Precision mode, int bits);
// MAC/s of a layer's mode and operand widths (layers without weights count as 8-bit weights).
double mac_rate(const Profile& p, const LayerDesc& d);
// The roofline of one layer. Throws UsageError naming the layer when its mode is not legal on p
// (reorders are always legal: they are how data enters and leaves a mode).
LayerCost roofline(const LayerDesc& d, const Profile& p);

}  // namespace autocompress
