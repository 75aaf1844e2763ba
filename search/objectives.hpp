// The known objectives of a compression candidate, computed in microseconds without building the
// compressed model (issue 6: samplers use them as exact values, never learn them).
//
// The original model's schedule (hwmodels describe()) is taken once; a recipe changes it only in
// ways we can derive exactly:
//   - pruning a group keeps kept_channel_count(C, ratio, channel_multiple) channels
//     (compressors/prune.hpp): the c_out of its producers, the c_in / c_out of the layers its
//     channels flow through (BN, activations, pooling, depthwise followers, Concat offsets), the
//     c_in of its consumers (a Gemm after Flatten: kept x block features);
//   - low-rank r of a layer splits it into "<name>/lowrank_a" (r outputs, same kernel) and the
//     1x1 / Gemm "<name>" (r inputs), as compressors/lowrank.hpp does (skipped when not smaller);
//   - precision / wbits set LayerPrecision per layer; the reorders between modes follow from
//     describe()'s rules, so the schedule is re-described on a shape-only graph (no weights).
// Packed size = per Conv/Gemm: weights at their stored width (fp32 32 bits, bf16 16, quantized
// wbits) packed, plus one fp32 scale per output channel when quantized, plus fp32 biases; every
// other float initializer (BatchNorm) at 32 bits. The test checks these equal describe() and
// the size accounting on the actually applied graph.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compressors/dependency.hpp"
#include "compressors/recipe.hpp"
#include "hwmodels/energy.hpp"
#include "hwmodels/layer_desc.hpp"
#include "hwmodels/profile.hpp"
#include "model/graph.hpp"

namespace autocompress {

struct KnownObjectives {
  double latency_s = 0;  // predicted on the target at the batch given to the model
  double energy_j = 0;
  double size_bytes = 0;  // packed bytes
  double macs = 0;        // per batch, unpadded
};

// Packed bytes of a graph as it stands (weights at the precision / wbits attrs of its nodes; an
// int8 DQ'd weight initializer counts at its layer's wbits).
double packed_size_bytes(const Graph& g);

// Per-layer LayerPrecision from recipe settings (fp32/bf16 with wbits 8 = float weights).
LayerPrecision layer_precision(const LayerSettings& s);

class ObjectiveModel {
 public:
  // `g` is the original model; the schedule is for `batch`. `refit_layers`: the layers that
  // least-squares reconstruction refits when they read pruned channels (the keys of
  // ApplyContext::ls_stats().layers when it is on); a refitted layer without a bias gains one.
  ObjectiveModel(const Graph& g, const Profile& target, int64_t batch = 1,
                 int64_t channel_multiple = 16, std::set<std::string> refit_layers = {});
  // The compressed schedule of a recipe (validated against the model beforehand).
  std::vector<LayerDesc> schedule(const Recipe& r) const;
  KnownObjectives evaluate(const Recipe& r) const;
  const Profile& target() const { return target_; }
  int64_t batch() const { return batch_; }

 private:
  Graph compressed(const Recipe& r, std::map<std::string, LayerPrecision>& per_layer) const;

  Graph shape_only_;  // the original graph with weights reduced to their shapes
  Profile target_;
  int64_t batch_, channel_multiple_;
  ChannelAnalysis analysis_;
  std::vector<std::string> layers_;  // Conv/Gemm of the original, schedule order
  std::set<std::string> refit_;
};

}  // namespace autocompress
