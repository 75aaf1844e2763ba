// The liveness memory planner of the oneDNN evaluator: buffers that are live at the same step
// get disjoint byte ranges of one arena; the others may share bytes. Greedy placement, largest
// buffer first, each at the lowest offset that fits between the ranges of the already placed
// buffers whose lifetimes overlap its own. Pure: plain data in, offsets out.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace autocompress {

// One buffer: its size and the first and last step that use it (inclusive, first <= last).
struct BufferLifetime {
  size_t bytes = 0;
  int first = 0, last = 0;
};

struct ArenaPlan {
  std::vector<size_t> offsets;  // one per buffer, in input order; multiples of the alignment
  size_t size = 0;              // the arena's bytes: the largest offset + aligned size
};

// Each buffer takes its size rounded up to a multiple of `align` (> 0, else
// std::invalid_argument). Buffers of equal size are placed in an unspecified but deterministic
// order.
ArenaPlan plan_arena(std::span<const BufferLifetime> buffers, size_t align);

}  // namespace autocompress
