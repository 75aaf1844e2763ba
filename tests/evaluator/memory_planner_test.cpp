// plan_arena against naive references on tables of random lifetimes: a plain first-fit (every
// candidate offset tried against every placed buffer), every buffer in its own region (the
// arena may never be larger) and the peak of live bytes (no valid arena is smaller).
#include "evaluator/memory_planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

namespace autocompress {
namespace {

size_t round_up(size_t bytes, size_t align) { return (bytes + align - 1) / align * align; }

bool live_together(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first <= b.last && b.first <= a.last;
}

// Every buffer in its own region, one after the other.
size_t separate_regions_bytes(const std::vector<BufferLifetime>& buffers, size_t align) {
  size_t total = 0;
  for (const auto& b : buffers) total += round_up(b.bytes, align);
  return total;
}

// The largest sum of aligned sizes live at one step.
size_t peak_live_bytes(const std::vector<BufferLifetime>& buffers, size_t align) {
  size_t peak = 0;
  for (const auto& at : buffers)
    for (int step : {at.first, at.last}) {
      size_t live = 0;
      for (const auto& b : buffers)
        if (b.first <= step && step <= b.last) live += round_up(b.bytes, align);
      peak = std::max(peak, live);
    }
  return peak;
}

// First fit written plainly: largest first; for each, the smallest of the candidate offsets
// (0 and the end of every placed buffer) at which it overlaps no placed buffer it lives with.
std::vector<size_t> plain_first_fit(const std::vector<BufferLifetime>& buffers, size_t align) {
  std::vector<size_t> order(buffers.size()), offsets(buffers.size(), 0), placed;
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  for (size_t t : order) {
    const size_t size = round_up(buffers[t].bytes, align);
    std::vector<size_t> candidates = {0};
    for (size_t p : placed) candidates.push_back(offsets[p] + round_up(buffers[p].bytes, align));
    std::sort(candidates.begin(), candidates.end());
    for (size_t c : candidates) {
      bool fits = true;
      for (size_t p : placed) {
        const size_t lo = offsets[p], hi = offsets[p] + round_up(buffers[p].bytes, align);
        if (live_together(buffers[t], buffers[p]) && c < hi && lo < c + size) fits = false;
      }
      if (fits) {
        offsets[t] = c;
        break;
      }
    }
    placed.push_back(t);
  }
  return offsets;
}

std::vector<BufferLifetime> random_lifetimes(std::mt19937& rng, int n, int steps, bool distinct) {
  std::uniform_int_distribution<int> step(0, steps - 1), bytes(1, 5000);
  std::vector<BufferLifetime> buffers;
  std::vector<size_t> used;
  while (int(buffers.size()) < n) {
    BufferLifetime b;
    b.bytes = size_t(bytes(rng));
    if (distinct && std::count(used.begin(), used.end(), b.bytes)) continue;
    used.push_back(b.bytes);
    b.first = step(rng);
    b.last = std::min(steps - 1, b.first + step(rng) / 3);
    buffers.push_back(b);
  }
  return buffers;
}

void expect_valid(const std::vector<BufferLifetime>& buffers, const ArenaPlan& plan, size_t align) {
  ASSERT_EQ(plan.offsets.size(), buffers.size());
  size_t end = 0;
  for (size_t a = 0; a < buffers.size(); ++a) {
    EXPECT_EQ(plan.offsets[a] % align, 0u) << "buffer " << a;
    end = std::max(end, plan.offsets[a] + round_up(buffers[a].bytes, align));
    for (size_t b = a + 1; b < buffers.size(); ++b) {
      if (!live_together(buffers[a], buffers[b])) continue;
      const bool apart = plan.offsets[a] + buffers[a].bytes <= plan.offsets[b] ||
                         plan.offsets[b] + buffers[b].bytes <= plan.offsets[a];
      EXPECT_TRUE(apart) << "buffers " << a << " and " << b << " are live together and overlap";
    }
  }
  EXPECT_EQ(plan.size, end);
  EXPECT_LE(plan.size, separate_regions_bytes(buffers, align));
  EXPECT_GE(plan.size, peak_live_bytes(buffers, align));
}

TEST(MemoryPlanner, RandomLifetimesAreValid) {
  std::mt19937 rng(7);
  for (size_t align : {size_t{1}, size_t{64}, size_t{4096}})
    for (int trial = 0; trial < 200; ++trial) {
      const auto buffers = random_lifetimes(rng, 1 + trial % 40, 1 + trial % 25, false);
      SCOPED_TRACE("align " + std::to_string(align) + ", trial " + std::to_string(trial));
      expect_valid(buffers, plan_arena(buffers, align), align);
    }
}

TEST(MemoryPlanner, SameOffsetsAsPlainFirstFit) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    const auto buffers = random_lifetimes(rng, 1 + trial % 40, 1 + trial % 25, true);
    EXPECT_EQ(plan_arena(buffers, 64).offsets, plain_first_fit(buffers, 64)) << "trial " << trial;
  }
}

TEST(MemoryPlanner, BuffersNeverLiveTogetherShareOffsetZero) {
  std::vector<BufferLifetime> chain;
  for (int s = 0; s < 10; ++s) chain.push_back({size_t(100 * (s + 1)), s, s});
  const ArenaPlan plan = plan_arena(chain, 64);
  for (size_t off : plan.offsets) EXPECT_EQ(off, 0u);
  EXPECT_EQ(plan.size, round_up(1000, 64));
}

TEST(MemoryPlanner, HandComputedTable) {
  // C (largest) at 0; A is never live with C: also at 0; B is live with both: after C.
  const std::vector<BufferLifetime> buffers = {{100, 0, 2}, {64, 1, 3}, {200, 3, 4}};
  const ArenaPlan plan = plan_arena(buffers, 64);
  EXPECT_EQ(plan.offsets, (std::vector<size_t>{0, 256, 0}));
  EXPECT_EQ(plan.size, 320u);
}

TEST(MemoryPlanner, EmptyAndZeroAlignment) {
  EXPECT_EQ(plan_arena({}, 64).size, 0u);
  const std::vector<BufferLifetime> one = {{8, 0, 0}};
  EXPECT_THROW(plan_arena(one, 0), std::invalid_argument);
}

}  // namespace
}  // namespace autocompress
