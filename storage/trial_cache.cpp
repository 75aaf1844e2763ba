#include "storage/trial_cache.hpp"

namespace autocompress {

std::unordered_map<int64_t, size_t> FinishedTrialCache::fill(
    std::vector<FrozenTrial>& out, const std::unordered_map<int64_t, size_t>& listed) const {
  std::unordered_map<int64_t, size_t> todo;
  for (const auto& [id, i] : listed) {
    const auto c = trials_.find(id);
    if (c != trials_.end())
      out[i] = c->second;
    else
      todo.emplace(id, i);
  }
  return todo;
}

void FinishedTrialCache::keep(const std::vector<FrozenTrial>& out,
                              const std::unordered_map<int64_t, size_t>& read) {
  for (const auto& [id, i] : read)
    if (is_finished(out[i].state)) trials_.emplace(id, out[i]);
}

}  // namespace autocompress
