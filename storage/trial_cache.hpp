// The finished trials a listing read, kept by trial id to be copied into later listings:
// finished trials never change (storage.hpp), so only the other trials' child rows are read
// again. Backend-neutral.
#pragma once

#include <unordered_map>
#include <vector>

#include "storage/storage.hpp"

namespace autocompress {

class FinishedTrialCache {
 public:
  // `listed` maps the trial id of each trial in `out` to its position. Copies the trials the
  // cache holds into `out`; returns the others (id -> position), whose child rows must be read.
  std::unordered_map<int64_t, size_t> fill(std::vector<FrozenTrial>& out,
                                           const std::unordered_map<int64_t, size_t>& listed) const;
  // Keeps the finished trials among those `read` (id -> position in out).
  void keep(const std::vector<FrozenTrial>& out, const std::unordered_map<int64_t, size_t>& read);

 private:
  std::unordered_map<int64_t, FrozenTrial> trials_;
};

}  // namespace autocompress
