// NSGA-II (Deb, Pratap, Agarwal, Meyarivan 2002) as a sampler over finished trials, Optuna-style:
// trial number t belongs to generation t / population_size. Generation 0 is the random sampler's
// Latin hypercube. The parents of generation g >= 1 are the population_size best (constraint-
// domination rank, then crowding distance) of all trials finished with a number below
// g * population_size — elitist (mu + lambda) selection that needs no state besides the history,
// so asynchronous workers and resumed studies see the same generations. Each offspring comes from
// two binary tournaments, crossover and mutation (search/samplers/nsga2_variation.hpp); offspring
// that the cheap constraints rule out or that repeat a trial are redrawn (bounded). Everything is
// drawn from Rng(seed, trial number).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "search/samplers/nsga2_variation.hpp"
#include "search/samplers/random.hpp"
#include "search/samplers/sampler.hpp"

namespace autocompress {

struct Nsga2Settings {
  size_t population_size = 20;
  std::string crossover = "sbx";  // "sbx" or "uniform"
  double crossover_prob = 0.9;
  double eta_crossover = 15;  // SBX distribution index
  double swap_prob = 0.5;     // uniform crossover
  double mutation_prob = -1;  // < 0: 1 / number of free knobs
  double eta_mutation = 20;   // polynomial mutation distribution index
  size_t max_tries = 50;      // offspring drawn per proposal before giving up
};

class Nsga2Sampler final : public Sampler {
 public:
  Nsga2Sampler(uint64_t seed, Nsga2Settings settings);
  std::string name() const override { return "nsga2"; }
  std::vector<Candidate> ask(const SamplerContext& ctx, size_t q) override;

  // The parents of generation g (candidates with their rank and crowding distance).
  struct Parents {
    std::vector<Candidate> x;
    std::vector<int> rank;
    std::vector<double> crowding;
  };
  Parents parents(const SamplerContext& ctx, int64_t generation) const;

 private:
  Candidate offspring(const SamplerContext& ctx, const Parents& p, int64_t number,
                      const TakenCandidates& taken) const;

  uint64_t seed_;
  Nsga2Settings settings_;
  RandomSampler initial_;
  Crossover crossover_;
  Mutation mutation_;
};

std::unique_ptr<Sampler> make_nsga2_sampler(uint64_t seed, const std::string& settings_json);

}  // namespace autocompress
