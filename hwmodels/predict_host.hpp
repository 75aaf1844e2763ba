// Host latency prediction: what a search asks for every candidate on the machine it runs on.
// Measured where it can be, modeled where it must be (the nn-Meter idea, Zhang et al. MobiSys
// 2021): cached layer medians, else a cached layer of the same geometry scaled by the roofline,
// else a roofline fitted to this host's cache; whole-model terms fitted by NNLS. The model:
// docs/hardware.md, "Host prediction".
#pragma once

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "hwmodels/measure.hpp"
#include "hwmodels/measure_cache.hpp"
#include "hwmodels/profile.hpp"
#include "model/graph.hpp"

namespace autocompress {

// A cached layer of some geometry, for scaling to other channel counts.
struct CachedLayer {
  LayerDesc layer;
  double seconds = 0;
  double roofline_s = 0;  // its roofline latency on the fitted profile of its mode
};

// Everything a host prediction needs, read from the cache once (lookups are then in memory).
struct HostModel {
  Profile profile;  // the base profile with efficiency and overhead_s fitted to the cache
  std::array<Profile, kNumPrecisions> mode_profile;  // fitted per mode (else `profile`)
  int threads = 1;
  HostInfo host;
  std::unordered_map<std::string, double> layers;  // layer_key -> median seconds
  std::unordered_map<std::string, std::vector<CachedLayer>> geometry;  // geometry_key -> layers
  double layer_scale = 1;
  double reorder_s_per_byte = 0;  // without model samples: the profile's reorder roofline rate
  double fixed_s = 0;
  int layer_samples = 0, model_samples = 0;  // what the fits saw
  // > 0 (load_host_model: this host's L3): a layer is looked up, and scaled from neighbours, in
  // its schedule's weights context first (weights_context in hwmodels/measure.hpp), then in any.
  double llc_bytes = 0;
};

// Fits a HostModel to the cache entries of `host` at `threads` (other entries are ignored).
// Without layer entries the profile is kept as it is; without model samples layer_scale = 1,
// fixed_s = 0 and reorders cost their roofline. Pure function.
HostModel fit_host_model(const Profile& base, const std::vector<CachedMeasurement>& entries,
                         int threads, const HostInfo& host);
// Reads `cache` and fits (threads 0 = all cores, as measure() records them); on this host the
// weights context is used (llc_bytes = host_llc_bytes()).
HostModel load_host_model(const Profile& base, const MeasureCache& cache, int threads,
                          const HostInfo& host = this_host());

// layer_key of d with the channel counts (and a depthwise layer's groups) left out.
std::string geometry_key(const LayerDesc& d);

struct HostPrediction {
  std::vector<double> layer_s;  // per schedule entry (reorders: their share of the total)
  std::vector<bool> measured;   // whether layer_s[k] is a cached measurement
  std::vector<bool> scaled;     // whether it was scaled from a cached layer of its geometry
  double total_s = 0;           // the whole model (see the top comment)
};

// The prediction for a schedule (describe(), batch as deployed) from `m` alone. Pure, and cheap
// enough to call for every candidate of a search (bench/hwmodel_bench.cpp).
HostPrediction predict_host(const std::vector<LayerDesc>& schedule, const HostModel& m);

struct HostPredictOptions {
  bool measure_unseen = false;  // measure g once when a layer's shape is not in the cache
  int repeats = 10;             // timed runs of that measurement (medians)
};

// As above; with measure_unseen, a schedule with an unseen layer is measured here first (g
// compiled with the oneDNN evaluator at the schedule's batch and m.threads), recorded in `cache`
// (layers and the model sample) and added to m.layers, so later candidates find it. The fits of
// m are not redone (call load_host_model again to refit on what was added).
HostPrediction predict_host(const Graph& g, const std::vector<LayerDesc>& schedule, HostModel& m,
                            MeasureCache& cache, const HostPredictOptions& options);

}  // namespace autocompress
