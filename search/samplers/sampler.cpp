#include "search/samplers/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "common/error.hpp"
#include "search/samplers/auto.hpp"
#include "search/samplers/bo.hpp"
#include "search/samplers/nsga2.hpp"
#include "search/samplers/random.hpp"

namespace autocompress {

namespace {

struct Registered {
  const char* name;
  std::unique_ptr<Sampler> (*make)(uint64_t seed, const std::string& settings_json);
};

// The registry.
const Registered kSamplers[] = {
    {"random", make_random_sampler},
    {"nsga2", make_nsga2_sampler},
    {"bo", make_bo_sampler},
    {"auto", make_auto_sampler},
};

}  // namespace

std::unique_ptr<Sampler> make_sampler(const std::string& name, uint64_t seed,
                                      const std::string& settings_json) {
  for (const auto& r : kSamplers)
    if (name == r.name) return r.make(seed, settings_json);
  std::string known;
  for (const auto& r : kSamplers) known += (known.empty() ? "" : ", ") + std::string(r.name);
  throw UsageError("unknown sampler '" + name + "' (known: " + known + ")");
}

std::vector<std::string> sampler_names() {
  std::vector<std::string> names;
  for (const auto& r : kSamplers) names.emplace_back(r.name);
  return names;
}

double cheap_violation(const SamplerContext& ctx, const Candidate& c) {
  if (!ctx.cheap_constraints) return 0;
  double total = 0;
  for (double v : ctx.cheap_constraints(c)) {
    if (std::isnan(v)) return std::numeric_limits<double>::infinity();
    if (v > 0) total += v;
  }
  return total;
}

namespace {

uint64_t candidate_hash(const Candidate& c) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the levels
  for (int v : c) h = (h ^ static_cast<uint32_t>(v)) * 0x100000001b3ULL;
  return h;
}

}  // namespace

TakenCandidates::TakenCandidates(const SamplerContext& ctx) {
  sorted_.reserve(ctx.history.size() + ctx.pending.size());
  for (const auto& o : ctx.history) sorted_.emplace_back(candidate_hash(o.x), &o.x);
  for (const auto& x : ctx.pending) sorted_.emplace_back(candidate_hash(x), &x);
  std::sort(sorted_.begin(), sorted_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

size_t TakenCandidates::count(const Candidate& c) const {
  const uint64_t h = candidate_hash(c);
  auto it = std::lower_bound(sorted_.begin(), sorted_.end(), h,
                             [](const auto& e, uint64_t key) { return e.first < key; });
  for (; it != sorted_.end() && it->first == h; ++it)
    if (*it->second == c) return 1;
  return std::find(added_.begin(), added_.end(), c) != added_.end() ? 1 : 0;
}

void TakenCandidates::insert(const Candidate& c) {
  if (!count(c)) added_.push_back(c);
}

TakenCandidates taken_candidates(const SamplerContext& ctx) { return TakenCandidates(ctx); }

namespace {

constexpr size_t kEnumerableSpace = 4096;

// Number of candidates of the space, or SIZE_MAX when above `limit`.
size_t space_size(const SearchSpace& s, size_t limit) {
  size_t n = 1;
  for (const auto& k : s.knobs) {
    const size_t levels = k.fixed >= 0 ? 1 : std::max<size_t>(k.levels.size(), 1);
    if (n > limit / levels) return SIZE_MAX;
    n *= levels;
  }
  return n;
}

// Small spaces, when drawing failed: the allowed untaken candidate `pick` places after the first
// (wrapping), found by enumerating the space.
std::optional<Candidate> enumerate_allowed(const SamplerContext& ctx, const TakenCandidates& taken,
                                           size_t pick) {
  const SearchSpace& s = *ctx.space;
  if (space_size(s, kEnumerableSpace) == SIZE_MAX) return std::nullopt;
  std::vector<Candidate> allowed;
  Candidate c(s.size());
  for (size_t j = 0; j < s.size(); ++j) c[j] = std::max(s.knobs[j].fixed, 0);
  while (true) {
    if (!taken.count(c) && cheap_violation(ctx, c) == 0) allowed.push_back(c);
    size_t j = 0;  // odometer over the free knobs
    for (; j < s.size(); ++j) {
      if (s.knobs[j].fixed >= 0) continue;
      if (++c[j] < static_cast<int>(s.knobs[j].levels.size())) break;
      c[j] = 0;
    }
    if (j == s.size()) break;
  }
  if (allowed.empty()) return std::nullopt;
  return allowed[pick % allowed.size()];
}

}  // namespace

Candidate first_allowed(const SamplerContext& ctx, const TakenCandidates& taken, size_t max_tries,
                        const std::function<Candidate(size_t)>& draw) {
  Candidate best;
  std::pair<double, bool> best_key{std::numeric_limits<double>::infinity(), true};
  for (size_t attempt = 0; attempt < std::max<size_t>(max_tries, 1); ++attempt) {
    Candidate c = draw(attempt);
    const std::pair<double, bool> key{cheap_violation(ctx, c), taken.count(c) > 0};
    if (key.first == 0 && !key.second) return c;
    if (best.empty() || key < best_key) {
      best = std::move(c);
      best_key = key;
    }
  }
  // A deterministic pick among the rest: the draws made so far already depend on the seed.
  size_t pick = 0;
  for (int v : best) pick = pick * 31 + static_cast<size_t>(v);
  if (auto c = enumerate_allowed(ctx, taken, pick)) return *c;
  return best;
}

}  // namespace autocompress
