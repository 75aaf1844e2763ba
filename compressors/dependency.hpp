// Pruning dependency groups on the canonical graph: which output channels of which layers must be
// removed together so that every tensor keeps consistent channel counts (channel spaces joined by
// union-find), and which groups cannot be pruned and why. The rules: docs/recipe.md, "Pruning and
// dependency groups". Pure functions of the graph; thread-safe.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

// A layer (Conv with group 1 or Gemm) reading a group's channels: they occupy input positions
// [offset, offset + channels * block) of its input channel (Conv) or feature (Gemm) axis.
struct GroupConsumer {
  std::string layer;
  int64_t offset = 0;  // in input positions (features for a Gemm after Flatten)
  int64_t block = 1;   // positions per channel (H*W after Flatten, else 1)
};

struct PruneGroup {
  int id = 0;                          // index in dependency_groups()'s result
  int64_t channels = 0;                // channels of every space of the group
  std::vector<std::string> producers;  // Conv/Gemm whose outputs are these channels
  std::vector<GroupConsumer> consumers;
  std::vector<std::string> followers;  // depthwise convs whose channels follow the group
  std::vector<std::string> joins;      // Add/Mul/... nodes that joined spaces into this group
  bool prunable = true;
  std::string reason;  // why not prunable (empty when prunable)

  // "group 3 (conv_a, conv_b)", for messages.
  std::string label() const;
};

// One segment of a tensor's channel axis: every channel of one space, each channel spanning
// `block` consecutive positions.
struct ChannelSegment {
  int space = 0;
  int64_t block = 1;
};
using ChannelMap = std::vector<ChannelSegment>;

// The full analysis, for the compressors that need per-tensor detail (prune).
struct ChannelAnalysis {
  std::vector<int64_t> space_size;
  std::vector<int> space_group;                      // space -> PruneGroup::id
  std::unordered_map<std::string, ChannelMap> maps;  // activation -> its channel layout;
                                                     // absent when not modelled
  std::vector<PruneGroup> groups;

  // The group whose producers include `layer`, or -1.
  int group_of_producer(const std::string& layer) const;
  // The group a depthwise follower `layer` follows, or -1.
  int group_of_follower(const std::string& layer) const;
};

ChannelAnalysis analyze_channels(const Graph& g);
std::vector<PruneGroup> dependency_groups(const Graph& g);

// true when `n` is a depthwise Conv with channel multiplier 1 (group == C_in == C_out).
bool is_depthwise(const Graph& g, const Node& n);

}  // namespace autocompress
