#include "search/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "search/samplers/nsga2.hpp"
#include "search/samplers/random.hpp"

namespace autocompress {

namespace {

struct Registered {
  const char* name;
  std::unique_ptr<Sampler> (*make)(uint64_t seed, const std::string& settings_json);
};

// The registry. Bayesian optimization (search/samplers/bo.hpp) adds its entries here:
//   {"bo", make_bo_sampler}, {"auto", make_auto_sampler}
const Registered kSamplers[] = {
    {"random", make_random_sampler},
    {"nsga2", make_nsga2_sampler},
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

std::set<Candidate> taken_candidates(const SamplerContext& ctx) {
  std::set<Candidate> taken(ctx.pending.begin(), ctx.pending.end());
  for (const auto& o : ctx.history) taken.insert(o.x);
  return taken;
}

Candidate first_allowed(const SamplerContext& ctx, const std::set<Candidate>& taken,
                        size_t max_tries, const std::function<Candidate(size_t)>& draw) {
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
  return best;
}

}  // namespace autocompress
