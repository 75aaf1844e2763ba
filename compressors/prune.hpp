// Structured channel pruning (Li et al. 2017 L1 ranking; He et al. 2017; AMC, He et al. 2018):
// whole output channels removed group by group with everything that reads them, giving a smaller
// model (not a masked one); constant pruned channels folded into their consumers' biases where that
// is exact (docs/recipe.md, "Pruning and dependency groups"). Deterministic (ties keep the lower
// index); groups with ratio 0 stay bit-identical. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compressors/dependency.hpp"
#include "model/graph.hpp"

namespace autocompress {

enum class Importance { kL1, kL2 };

struct PruneOptions {
  // Kept channel counts are rounded to a multiple of this (oneDNN's blocked layouts pad channels
  // to 16 on AVX-512, so other counts save nothing there).
  int64_t channel_multiple = 16;
  Importance importance = Importance::kL1;
  bool fold_constants = true;
};

struct PruneReport {
  std::map<int, std::vector<int64_t>> kept;  // group id -> kept channels (ascending), pruned groups
  std::vector<std::string> notes;            // constant folds done / skipped, with the reason
};

// round(channels * (1 - ratio)) to the nearest multiple of `multiple`, clamped to
// [min(channels, multiple), channels]: never zero channels.
int64_t kept_channel_count(int64_t channels, double ratio, int64_t multiple);

// Importance of each channel of a group: the L1 (or L2) norm of each producer's output-channel
// weights, summed over the group's producers.
std::vector<double> channel_importance(const Graph& g, const PruneGroup& group,
                                       Importance importance);

// Positions kept along axis 1 of activation `tensor` of the analysed (original) graph when the
// groups in `kept` keep those channels (Flatten blocks expanded); std::nullopt when unchanged.
std::optional<std::vector<int64_t>> kept_positions(const ChannelAnalysis& a,
                                                   const std::map<int, std::vector<int64_t>>& kept,
                                                   const std::string& tensor);

// Prune group `id` by `ratio` for every entry of `ratios` (ids from dependency_groups(g)).
// Throws UsageError for an unknown group id, a ratio outside [0, 1), or a ratio > 0 on a group
// that is not prunable (naming the group and the reason).
Graph prune(const Graph& g, const std::map<int, double>& ratios, const PruneOptions& options,
            PruneReport* report = nullptr);

}  // namespace autocompress
