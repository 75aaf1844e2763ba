#include "hwmodels/roofline.hpp"

#include <algorithm>
#include <cmath>

namespace autocompress {

const char* bound_name(Bound b) { return b == Bound::kCompute ? "compute" : "memory"; }

int64_t pad_channels(int64_t c, int64_t multiple) {
  return multiple <= 1 ? c : (c + multiple - 1) / multiple * multiple;
}

namespace {
// Fewer input channels than one block (a network's first layer, e.g. RGB) are read from a plain
// layout, not padded: oneDNN's first-layer convolutions do so, as do PE arrays that unroll the
// kernel window instead.
// Reorders of such tensors (quantizing an RGB input) stay plain on both sides.
double padded_inputs(const LayerDesc& d, int64_t multiple) {
  const bool plain =
      d.kind == LayerKind::kConv || d.kind == LayerKind::kGemm || d.kind == LayerKind::kReorder;
  return double(plain && d.c_in < multiple ? d.c_in : pad_channels(d.c_in, multiple));
}
double padded_outputs(const LayerDesc& d, int64_t multiple) {
  const bool plain = d.kind == LayerKind::kReorder;
  return double(plain && d.c_out < multiple ? d.c_out : pad_channels(d.c_out, multiple));
}
}  // namespace

int operand_bits(const Profile& p, Precision mode, int bits) {
  if (mode != Precision::kInt8 || !p.bit_flexible) return precision_bits(mode);
  int b = std::max(p.min_bits, 1);
  while (b < bits) b *= 2;  // BitBricks fuse in powers of two
  return std::min(b, 8);
}

double mac_rate(const Profile& p, const LayerDesc& d) {
  const double base = p.rate(d.precision);
  if (d.precision != Precision::kInt8 || !p.bit_flexible) return base;
  const int wb = operand_bits(p, d.precision, d.wbits ? d.wbits : 8);
  const int ab = operand_bits(p, d.precision, d.abits);
  return base * (8.0 / wb) * (8.0 / ab);
}

namespace {

bool has_weights(LayerKind k) {
  return k == LayerKind::kConv || k == LayerKind::kDepthwise || k == LayerKind::kGemm;
}

// MACs and weight bytes on padded channels.
void work(const LayerDesc& d, const Profile& p, LayerCost& c) {
  const double cin = padded_inputs(d, p.channel_multiple);
  const double cout = padded_outputs(d, p.channel_multiple);
  const double out_px = double(d.batch) * double(d.h_out) * double(d.w_out);
  if (has_weights(d.kind)) {
    // Depthwise and grouped: channels padded as a whole, not within each group.
    const double in_per_group = d.groups == 1 ? cin : double(d.c_in) / double(d.groups);
    const double w = double(d.kh) * double(d.kw) * cout * in_per_group;
    const double taps = d.taps > 0 ? d.taps : double(d.kh) * double(d.kw);
    c.macs = out_px * taps * cout * in_per_group;
    c.weight_bytes = w * operand_bits(p, d.precision, d.wbits) / 8.0;
  } else if (d.kind == LayerKind::kPool) {
    c.macs = out_px * cout * double(d.kh) * double(d.kw);
  } else {
    c.macs = out_px * cout;
    if (d.kind == LayerKind::kBatchNorm) c.weight_bytes = 2.0 * cout * 4.0;  // fp32 scale, shift
  }
}

// How often weights and inputs come from DRAM (see the top of roofline.hpp): once each when the
// weights and one sample's input fit on-chip; otherwise the cheaper of two loop orders:
// weight tiles of half the buffer each stream all inputs once (inputs read `tiles` times), or
// samples one by one, each streaming all weights (weights read `batch` times).
void reuse(LayerCost& c, double one_input, double batch, double onchip) {
  c.weights_resident = c.weight_bytes + one_input <= onchip;
  c.weight_reads = c.input_reads = 1;
  if (c.weights_resident) return;
  const double tiles = onchip >= 2 ? std::ceil(c.weight_bytes / (onchip / 2)) : 0;
  const double per_sample = c.weight_bytes * batch + c.input_bytes;
  if (tiles > 0 && c.weight_bytes + c.input_bytes * tiles < per_sample)
    c.input_reads = tiles;
  else
    c.weight_reads = batch;
}

// Activation bytes: a reorder's widths are its source and destination as they are.
void traffic(const LayerDesc& d, const Profile& p, LayerCost& c) {
  const bool reorder = d.kind == LayerKind::kReorder;
  const double in_bits = reorder ? d.abits : operand_bits(p, d.precision, d.abits);
  const double out_bits = reorder ? d.obits : operand_bits(p, d.precision, d.obits);
  const double cin = padded_inputs(d, p.channel_multiple);
  const double cout = padded_outputs(d, p.channel_multiple);
  const double b = double(d.batch);
  const double out = b * cout * double(d.h_out) * double(d.w_out) * out_bits / 8.0;
  const double one_input = cin * double(d.h_in) * double(d.w_in) * in_bits / 8.0;
  c.input_bytes = b * one_input * double(d.inputs) + (d.residual ? out : 0.0);
  c.output_bytes = out;
  reuse(c, one_input * double(d.inputs), b, p.onchip_bytes);
  c.dram_bytes = c.input_bytes * c.input_reads + c.output_bytes + c.weight_bytes * c.weight_reads;
  c.onchip_bytes = c.input_bytes + c.output_bytes + c.weight_bytes * b;
}

}  // namespace

LayerCost roofline(const LayerDesc& d, const Profile& p) {
  if (d.kind != LayerKind::kReorder && !p.supports(d.precision))
    throw UsageError("layer '" + d.name + "': precision " + precision_name(d.precision) +
                     " is not available on target '" + p.name + "'");
  LayerCost c;
  work(d, p, c);
  traffic(d, p, c);
  // Reorders convert between modes: they run at the destination's vector rate.
  const double rate = p.supports(d.precision) ? mac_rate(p, d) : p.rate(p.precisions[0]);
  c.compute_s = c.macs / rate;
  c.memory_s = std::max(c.dram_bytes / p.dram_bytes_per_s, c.onchip_bytes / p.onchip_bytes_per_s);
  c.bound = c.compute_s >= c.memory_s ? Bound::kCompute : Bound::kMemory;
  c.latency_s = std::max(c.compute_s, c.memory_s) / p.eff(d.kind) + p.overhead_s;
  return c;
}

}  // namespace autocompress
