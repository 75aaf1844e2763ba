// Roofline latency of one layer on a target (Williams et al., CACM 2009), with the target's
// channel padding and a simple on-chip reuse model. Pure functions: plain structs in, numbers out.
//
//   MACs      on channels padded to the profile's channel_multiple (blocked layouts, PE arrays);
//             fewer input channels than one multiple (a first layer) stay unpadded
//   bytes     weights at their storage width (bit-flexible int8: bits rounded up to a power of
//             two >= min_bits, packed; fixed-width targets: the mode's width, so weight-only
//             quantization is dequantized at compile and saves nothing), activations likewise
//   MACs      count the kernel taps inside the input only (LayerDesc::taps): kernels skip the
//             zero padding, as oneDNN's direct convolutions do at the borders
//   reuse     the weights stay on-chip for the whole batch when weights + one sample's input fit
//             in onchip_bytes (everything read from DRAM once); otherwise the cheaper of two
//             loop orders: weight tiles of onchip/2 bytes each stream every input once (inputs
//             read ceil(weights / (onchip/2)) times), or samples one by one, each streaming all
//             weights (weights read batch times). Outputs are written once. Every operand passes
//             the on-chip buffer once per use: onchip = inputs + outputs + batch x weights.
//   time      compute = MACs / rate(mode, bits); memory = max(DRAM bytes / DRAM bandwidth,
//             on-chip bytes / on-chip bandwidth);
//             latency = max(compute, memory) / efficiency(kind) + overhead
//   rate      fixed-width: mac_per_s[mode]; bit-flexible int8 (BitFusion, Sharma et al. ISCA
//             2018): rate8x8 x (8 / wbits) x (8 / abits) on the rounded widths.
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
