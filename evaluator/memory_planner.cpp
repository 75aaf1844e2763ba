#include "evaluator/memory_planner.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace autocompress {

ArenaPlan plan_arena(std::span<const BufferLifetime> buffers, size_t align) {
  if (align == 0) throw std::invalid_argument("plan_arena: the alignment must be > 0");
  auto aligned = [&](size_t bytes) { return (bytes + align - 1) / align * align; };
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  ArenaPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> placed;
  for (size_t t : order) {
    const BufferLifetime& b = buffers[t];
    const size_t size = aligned(b.bytes);
    std::vector<std::pair<size_t, size_t>> busy;  // byte ranges of placed buffers live with b
    for (size_t p : placed)
      if (buffers[p].first <= b.last && b.first <= buffers[p].last)
        busy.push_back({plan.offsets[p], plan.offsets[p] + aligned(buffers[p].bytes)});
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (const auto& [lo, hi] : busy) {
      if (off + size <= lo) break;
      off = std::max(off, hi);
    }
    plan.offsets[t] = off;
    plan.size = std::max(plan.size, off + size);
    placed.push_back(t);
  }
  return plan;
}

}  // namespace autocompress
