// The known objectives of a compression candidate (latency, energy, packed size), computed in
// microseconds from the original model's schedule and the recipe, without building the compressed
// model. How a recipe changes the schedule: docs/search.md, "Known objectives".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "compressors/calibrate.hpp"
#include "compressors/dependency.hpp"
#include "compressors/recipe.hpp"
#include "hwmodels/energy.hpp"
#include "hwmodels/layer_desc.hpp"
#include "hwmodels/predict_host.hpp"
#include "hwmodels/profile.hpp"
#include "model/graph.hpp"

namespace autocompress {

struct KnownObjectives {
  // predicted at the batch given to the model: the target's roofline, or the measured host model
  double latency_s = 0;
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
  // `host`: when given, latency is predict_host(schedule, *host).total_s (the measured host model,
  // hwmodels/predict_host.hpp: cached layers measured, other shapes scaled or modeled; pure, no
  // measurement per candidate) instead of the target's roofline; energy stays the target's. The
  // schedule is then the one the host runs: int8 layers as runnable_model() quantizes them
  // (compressors/runnable.hpp: u8/s8 sides, Q/DQ steps, float stems), so its layer keys are those
  // measured for the runnable model; the signs are taken once from `g` on synthetic input.
  ObjectiveModel(const Graph& g, const Profile& target, int64_t batch = 1,
                 int64_t channel_multiple = 16, std::set<std::string> refit_layers = {},
                 std::shared_ptr<const HostModel> host = nullptr);
  // The compressed schedule of a recipe (validated against the model beforehand): with a host
  // model, as the host runs it (see above); else from the recipe's modes as attributes.
  std::vector<LayerDesc> schedule(const Recipe& r) const;
  KnownObjectives evaluate(const Recipe& r) const;
  const Profile& target() const { return target_; }
  int64_t batch() const { return batch_; }
  const HostModel* host_model() const { return host_.get(); }
  // Replaces a host model given at construction (a refit); not thread-safe: before evaluating.
  void set_host_model(std::shared_ptr<const HostModel> host) { host_ = std::move(host); }

 private:
  Graph compressed(const Recipe& r, std::map<std::string, LayerPrecision>& per_layer) const;
  std::vector<LayerDesc> host_schedule(
      const Graph& g, const std::map<std::string, LayerPrecision>& per_layer) const;

  Graph shape_only_;  // the original graph with weights reduced to their shapes
  Profile target_;
  int64_t batch_, channel_multiple_;
  ChannelAnalysis analysis_;
  std::vector<std::string> layers_;  // Conv/Gemm of the original, schedule order
  std::set<std::string> refit_;
  std::shared_ptr<const HostModel> host_;
  ActivationStats signs_;  // with a host model: compressors/runnable.hpp synthetic_signs of g
};

}  // namespace autocompress
