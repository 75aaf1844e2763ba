#include "hwmodels/energy.hpp"

namespace autocompress {

double mac_energy_pj(const Profile& p, Precision mode, int wbits, int abits) {
  if (mode != Precision::kInt8 || !p.bit_flexible) return p.energy.mac_pj[int(mode)];
  const double wb = operand_bits(p, mode, wbits ? wbits : 8);
  const double ab = operand_bits(p, mode, abits ? abits : 8);
  return p.energy.mult_8x8_pj * wb * ab / 64.0 + p.energy.add_8_pj * (wb + ab) / 16.0;
}

LayerEnergy energy(const LayerDesc& d, const LayerCost& c, const Profile& p) {
  LayerEnergy e;
  // A reorder into a mode the target lacks (e.g. back to fp32 on an integer accelerator) is
  // costed at the target's default mode, as its roofline is.
  const Precision mode = p.supports(d.precision) ? d.precision : p.precisions[0];
  const int wbits = d.kind == LayerKind::kReorder ? 0 : d.wbits;
  const int abits = d.kind == LayerKind::kReorder ? 0 : d.abits;
  e.mac_pj = c.macs * mac_energy_pj(p, mode, wbits, abits);
  e.dram_pj = c.dram_bytes * p.energy.dram_pj_per_byte;
  e.onchip_pj = c.onchip_bytes * p.energy.onchip_pj_per_byte;
  return e;
}

Prediction predict(const std::vector<LayerDesc>& schedule, const Profile& p) {
  Prediction r;
  r.cost.reserve(schedule.size());
  r.energy.reserve(schedule.size());
  for (const auto& d : schedule) {
    r.cost.push_back(roofline(d, p));
    r.energy.push_back(energy(d, r.cost.back(), p));
    r.latency_s += r.cost.back().latency_s;
    r.energy_pj += r.energy.back().total_pj();
  }
  return r;
}

}  // namespace autocompress
