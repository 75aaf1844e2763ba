// The search space: ordered discrete knobs. Built from a model, the compressors and a target
// (search/study/space_builder.hpp: build_compression_space), or by hand for the benchmark
// problems (bench/problems: ZDT, DTLZ2).
// Encoding for surrogates: level index i of a knob with L levels -> i / (L - 1) in [0, 1]
// (a knob with one level -> 0); decoding rounds to the nearest level, so it is exact on encoded
// points.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace autocompress {

using KnobValue = std::variant<double, std::string>;

struct Knob {
  std::string name;  // "<layer or group>/<prune|precision|wbits|rank>", or "x3" for test problems
  enum class Type { kPrune, kPrecision, kWbits, kRank, kGeneric } type = Type::kGeneric;
  std::vector<KnobValue> levels;  // ordered: index 0 is the "least compressed" where it applies
  int fixed = -1;                 // >= 0: frozen at this level
};

struct SearchSpace {
  std::vector<Knob> knobs;
  size_t size() const { return knobs.size(); }
};

using Candidate = std::vector<int>;  // one level index per knob

std::vector<double> encode(const SearchSpace& s, const Candidate& c);
Candidate decode(const SearchSpace& s, const std::vector<double>& x);
// Throws UsageError naming the knob when an index is out of range or a frozen knob moved.
void check_candidate(const SearchSpace& s, const Candidate& c);

}  // namespace autocompress
