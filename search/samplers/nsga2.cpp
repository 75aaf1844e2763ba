#include "search/samplers/nsga2.hpp"

#include <map>

#include "search/moo/nondominated.hpp"
#include "search/samplers/settings.hpp"

namespace autocompress {

namespace {

// A different stream from the initial design's, which also draws from (seed, number).
constexpr uint64_t kOffspringSalt = 0x5eed'0000'2002ULL;

bool usable(const Observation& o, size_t n_objectives) {
  return o.state == Observation::State::kComplete && o.values.size() == n_objectives;
}

}  // namespace

Nsga2Sampler::Nsga2Sampler(uint64_t seed, Nsga2Settings settings)
    : seed_(seed),
      settings_(settings),
      initial_(seed, RandomSettings{settings.population_size, settings.max_tries}),
      crossover_(settings.crossover == "uniform" ? uniform_crossover(settings.swap_prob)
                                                 : sbx_crossover(settings.eta_crossover)),
      mutation_(polynomial_mutation(settings.mutation_prob, settings.eta_mutation)) {}

Nsga2Sampler::Parents Nsga2Sampler::parents(const SamplerContext& ctx, int64_t generation) const {
  const size_t m = ctx.senses.size();
  const int64_t limit = generation * static_cast<int64_t>(settings_.population_size);
  std::vector<const Observation*> pool;
  std::vector<double> points, violation;
  for (const auto& o : ctx.history) {
    if (o.number >= limit || !usable(o, m)) continue;
    pool.push_back(&o);
    points.insert(points.end(), o.values.begin(), o.values.end());
    violation.push_back(total_violation(o.constraints));
  }
  const auto best = select_best(points, m, ctx.senses, violation, settings_.population_size);
  Parents p;
  std::vector<double> chosen, chosen_violation;
  for (size_t i : best) {
    p.x.push_back(pool[i]->x);
    chosen.insert(chosen.end(), pool[i]->values.begin(), pool[i]->values.end());
    chosen_violation.push_back(violation[i]);
  }
  p.rank = nondominated_ranks(chosen, m, ctx.senses, chosen_violation);
  p.crowding.assign(best.size(), 0);
  std::map<int, std::vector<size_t>> fronts;
  for (size_t i = 0; i < best.size(); ++i) fronts[p.rank[i]].push_back(i);
  for (const auto& [rank, front] : fronts) {
    const auto d = crowding_distance(chosen, m, front);
    for (size_t k = 0; k < front.size(); ++k) p.crowding[front[k]] = d[k];
  }
  return p;
}

// Binary tournament (Deb 2002's crowded-comparison operator): lower rank, then larger crowding.
static size_t tournament(const Nsga2Sampler::Parents& p, Rng& rng) {
  const size_t a = rng.below(p.x.size()), b = rng.below(p.x.size());
  if (p.rank[a] != p.rank[b]) return p.rank[a] < p.rank[b] ? a : b;
  return p.crowding[b] > p.crowding[a] ? b : a;
}

Candidate Nsga2Sampler::offspring(const SamplerContext& ctx, const Parents& p, int64_t number,
                                  const TakenCandidates& taken) const {
  Rng rng(seed_ ^ kOffspringSalt, static_cast<uint64_t>(number));
  // The last quarter of the tries are uniform draws: when the population has collapsed onto
  // evaluated or ruled-out candidates, variation alone would keep proposing them.
  const size_t immigrants_from = settings_.max_tries - settings_.max_tries / 4;
  return first_allowed(ctx, taken, settings_.max_tries, [&](size_t attempt) {
    if (attempt > 0 && attempt >= immigrants_from) return uniform_candidate(*ctx.space, rng);
    const size_t a = tournament(p, rng);
    size_t b = tournament(p, rng);
    if (b == a && p.x.size() > 1) b = tournament(p, rng);
    Candidate child =
        rng.chance(settings_.crossover_prob) ? crossover_(*ctx.space, p.x[a], p.x[b], rng) : p.x[a];
    mutation_(*ctx.space, child, rng);
    return child;
  });
}

std::vector<Candidate> Nsga2Sampler::ask(const SamplerContext& ctx, size_t q) {
  auto taken = taken_candidates(ctx);
  std::map<int64_t, Parents> by_generation;
  std::vector<Candidate> out;
  for (size_t i = 0; i < q; ++i) {
    const int64_t number = ctx.next_number + static_cast<int64_t>(i);
    const int64_t generation = number / static_cast<int64_t>(settings_.population_size);
    auto it = by_generation.find(generation);
    if (it == by_generation.end())
      it = by_generation.emplace(generation, parents(ctx, generation)).first;
    out.push_back(it->second.x.size() < 2 ? initial_.propose(ctx, number, taken)
                                          : offspring(ctx, it->second, number, taken));
    taken.insert(out.back());
  }
  return out;
}

std::unique_ptr<Sampler> make_nsga2_sampler(uint64_t seed, const std::string& settings_json) {
  SamplerSettings s("nsga2", settings_json);
  Nsga2Settings n;
  n.population_size = static_cast<size_t>(
      s.integer("population_size", static_cast<int64_t>(n.population_size), 2, 100000));
  n.crossover = s.choice("crossover", n.crossover, {"sbx", "uniform"});
  n.crossover_prob = s.number("crossover_prob", n.crossover_prob, 0, 1);
  n.eta_crossover = s.number("eta_crossover", n.eta_crossover, 0, 1000);
  n.swap_prob = s.number("swap_prob", n.swap_prob, 0, 1);
  n.mutation_prob = s.number("mutation_prob", n.mutation_prob, -1, 1);
  n.eta_mutation = s.number("eta_mutation", n.eta_mutation, 0, 1000);
  n.max_tries =
      static_cast<size_t>(s.integer("max_tries", static_cast<int64_t>(n.max_tries), 1, 1000000));
  s.finish();
  return std::make_unique<Nsga2Sampler>(seed, n);
}

}  // namespace autocompress
