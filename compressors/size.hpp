// Size accounting of a (possibly compressed) graph, per weighted layer and in total: parameters,
// packed bytes (weights at their bit-width, plus per-channel scales and float biases), MACs and
// bit-operations (BOPs = MACs x weight bits x activation bits; Baskin et al. 2021, "UNIQ";
// van Baalen et al. 2020, "Bayesian Bits"). A factorized layer ("<layer>/lowrank_a" + "<layer>")
// counts as one layer. Bits come from the IR: weights read through DequantizeLinear have the
// layer's wbits (8 when absent), float weights 32 (16 under precision bf16, as the file stores
// them); activations 8 under int8, 16 under bf16, 32 otherwise. Pure function of the graph.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

struct LayerSize {
  std::string name;
  std::string precision = "fp32";
  int wbits = 32, abits = 32;
  int64_t params = 0;       // weight + bias elements
  double packed_bytes = 0;  // weights at wbits, scales and biases as float32
  int64_t macs = 0;         // per sample
  double bops = 0;          // per sample
  bool operator==(const LayerSize&) const = default;
};

struct SizeReport {
  std::vector<LayerSize> layers;  // schedule order of the layers' last nodes
  LayerSize total;                // sums ("total"); wbits/abits unused
  int64_t other_params = 0;       // elements of other initializers (BN, activation scales, ...)
  double other_bytes = 0;
  std::optional<int64_t> file_bytes;  // bytes of the written file, when known
};

SizeReport size_report(const Graph& g);
nlohmann::json size_json(const SizeReport& r);

}  // namespace autocompress
