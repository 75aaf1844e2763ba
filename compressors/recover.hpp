// Accuracy recovery after pruning, without training: least-squares reconstruction of the layers
// that read pruned channels from Gram matrices collected once (He et al. 2017; AMC), and BatchNorm
// statistics re-estimation (NNCF's batchnorm adaptation). Layers whose inputs were not pruned are
// not touched. Deterministic for a given seed (docs/recipe.md, "How the steps work").
#pragma once

#include <Eigen/Dense>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compressors/prune.hpp"
#include "data/dataset.hpp"
#include "model/graph.hpp"

namespace autocompress {

struct RecoverOptions {
  int64_t positions_per_image = 10;  // sampled output positions per image (Conv layers)
  double ridge = 1e-3;               // ridge, relative to the mean diagonal of the kept block
  uint32_t seed = 0;
  int64_t batch = 128;          // calibration batch for the oneDNN executor
  int threads = 0;              // oneDNN threads; 0 = all cores
  int64_t max_features = 6000;  // layers with a larger input patch are skipped (memory)
};

// Sum over samples of [x;1][x;1]^T for one layer's input patch x (Conv: C_in*kH*kW values in
// the weight's (c, kh, kw) order; Gemm: the K input features).
struct LayerGram {
  int64_t features = 0;
  int64_t samples = 0;
  Eigen::MatrixXd s;  // (features + 1)^2, the last row/column is the constant 1
};

struct ReconstructionStats {
  std::map<std::string, LayerGram> layers;
  std::vector<std::string> notes;  // layers skipped and why
};

// The layers that LS reconstruction may refit for some candidate: the group-1 Conv and Gemm
// consumers of every prunable dependency group, in schedule order.
std::vector<std::string> reconstructible_layers(const Graph& g);

// One pass of the ORIGINAL model over `calib` (oneDNN executor, the layers' inputs added as
// graph outputs). Throws DataError when the dataset does not fit the model.
ReconstructionStats collect_reconstruction_stats(const Graph& original, const Dataset& calib,
                                                 const std::vector<std::string>& layers,
                                                 const RecoverOptions& options);

// Per layer of `stats` among `layers`: the second moment E[x x^T] of its input patch x (no
// constant) over the features that remain after `report`'s pruning (all of them when its input was
// not pruned), in the weight's column order. What data-aware low-rank factorization
// (compressors/lowrank.hpp) weights its error with; from the same Gram, no new pass over the data.
std::map<std::string, Eigen::MatrixXd> input_second_moments(const Graph& original,
                                                            const ChannelAnalysis& analysis,
                                                            const PruneReport& report,
                                                            const ReconstructionStats& stats,
                                                            const std::set<std::string>& layers);

// Refit, in `pruned` (= prune(original, ..., &report)), every layer in `stats` whose input
// channels the report pruned. Returns the refitted graph; `notes` (optional) says what was done.
Graph reconstruct(const Graph& original, const Graph& pruned, const PruneReport& report,
                  const ReconstructionStats& stats, const RecoverOptions& options,
                  std::vector<std::string>* notes = nullptr);

// Recompute mean/var of every BatchNormalization of `compressed` whose input depends on a layer
// whose weights differ from `original`'s, on `calib`.
Graph reestimate_batchnorm(const Graph& original, const Graph& compressed, const Dataset& calib,
                           const RecoverOptions& options);

}  // namespace autocompress
