// The bo sampler on a small compression-like problem (one known objective, one black-box with a
// cliff): it beats random search on hypervolume (median of fixed seeds); the prior mean helps;
// auto follows the random sampler's design, then bo, then nsga2.
#include "search/samplers/bo.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "search/moo/hypervolume.hpp"
#include "search/samplers/auto.hpp"

namespace autocompress {
namespace {

constexpr size_t kKnobs = 10, kLevels = 11;

SearchSpace space() {
  SearchSpace s;
  for (size_t j = 0; j < kKnobs; ++j) {
    Knob k{"layer" + std::to_string(j) + (j % 2 ? "/wbits" : "/prune"),
           j % 2 ? Knob::Type::kWbits : Knob::Type::kPrune,
           {},
           -1};
    for (size_t l = 0; l < kLevels; ++l) k.levels.emplace_back(double(l));
    s.knobs.push_back(std::move(k));
  }
  return s;
}

// Size (known, minimized) falls with every knob's level; accuracy (black-box, maximized) loses a
// knob-dependent amount, quadratically, and collapses to chance past a total damage of 0.45.
double size_of(const Candidate& c) {
  double s = 10;
  for (size_t j = 0; j < kKnobs; ++j) s -= (0.5 + 0.1 * double(j)) * c[j] / double(kLevels - 1);
  return s;
}
double damage_of(const Candidate& c) {
  double d = 0;
  for (size_t j = 0; j < kKnobs; ++j)
    d += (0.02 + 0.03 * double((j * 7) % kKnobs)) * std::pow(c[j] / double(kLevels - 1), 2);
  return d;
}
double accuracy_of(const Candidate& c) {
  const double d = damage_of(c);
  return d > 0.45 ? 0.1 : 0.9 - d;
}

struct Study {
  SearchSpace s = space();
  SamplerContext ctx;
  Study() {
    ctx.space = &s;
    ctx.senses = {Sense::kMinimize, Sense::kMaximize};
    ctx.known = {1, 0};
    ctx.known_values = [](const Candidate& c) { return std::vector<double>{size_of(c), NAN}; };
    ctx.reference_point = {10, 0.5};
  }
  double run(Sampler& sampler, size_t budget) {
    std::vector<double> points;
    for (size_t t = 0; t < budget; ++t) {
      const Candidate x = sampler.ask(ctx, 1).at(0);
      const std::vector<double> v = {size_of(x), accuracy_of(x)};
      ctx.history.push_back({x, Observation::State::kComplete, v, {}, ctx.next_number++, {}});
      points.insert(points.end(), v.begin(), v.end());
    }
    return hypervolume(points, 2, ctx.reference_point, ctx.senses);
  }
};

constexpr size_t kBudget = 30;
const char* kFast = R"({"n_init": 8, "candidates": 400})";

double median_hypervolume(const std::string& sampler, const std::string& settings,
                          const PriorMean& prior = {}) {
  std::vector<double> hv;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    auto s = make_sampler(sampler, seed, settings);
    if (prior) {
      EXPECT_TRUE(set_prior_mean(*s, 1, prior));
    }
    hv.push_back(Study().run(*s, kBudget));
  }
  std::sort(hv.begin(), hv.end());
  return hv[2];
}

TEST(BoSampler, BeatsRandomSearchWithOneKnownObjective) {
  const double bo = median_hypervolume("bo", kFast);
  const double random = median_hypervolume("random", R"({"n_init": 8})");
  EXPECT_GT(bo, 1.1 * random) << "bo " << bo << " random " << random;
}

TEST(BoSampler, AnInformativePriorMeanHelps) {
  // The additive prior knows the damage but not the cliff.
  const double plain = median_hypervolume("bo", kFast);
  const double with_prior =
      median_hypervolume("bo", kFast, [](const Candidate& c) { return 0.9 - damage_of(c); });
  EXPECT_GE(with_prior, plain * 0.99) << "plain " << plain << " with prior " << with_prior;
}

TEST(BoSampler, LearnsFromPrunedTrialsAndBatchesWithPendingOnes) {
  Study a;
  auto bo = make_sampler("bo", 3, kFast);
  a.run(*bo, 12);
  for (size_t i = 0; i < a.ctx.history.size(); i += 3) {  // early-stopped: no values
    a.ctx.history[i].state = Observation::State::kPruned;
    a.ctx.history[i].values.clear();
  }
  a.ctx.pending = make_sampler("random", 9)->ask(a.ctx, 2);
  a.ctx.next_number += 2;
  const auto batch = bo->ask(a.ctx, 3);
  ASSERT_EQ(batch.size(), 3u);
  std::set<Candidate> distinct(batch.begin(), batch.end());
  EXPECT_EQ(distinct.size(), 3u);
  for (const auto& x : batch) {
    EXPECT_NO_THROW(check_candidate(a.s, x));
    for (const auto& p : a.ctx.pending) EXPECT_NE(x, p);
  }
}

// A study whose early stopping prunes every candidate under an accuracy of kBar (its partial
// estimate recorded, or not), after one COMPLETE warm-start trial (nothing compressed). Returns
// how many of `budget` proposals met the bar.
constexpr double kBar = 0.7;
size_t feasible_with_pruning(uint64_t seed, bool record_partial, size_t budget) {
  Study a;
  const Candidate none(kKnobs, 0);
  a.ctx.history.push_back({none,
                           Observation::State::kComplete,
                           {size_of(none), accuracy_of(none)},
                           {},
                           a.ctx.next_number++,
                           {}});
  auto bo = make_sampler("bo", seed, kFast);
  size_t feasible = 0;
  for (size_t t = 0; t < budget; ++t) {
    const Candidate x = bo->ask(a.ctx, 1).at(0);
    const double acc = accuracy_of(x);
    Observation o{x, Observation::State::kComplete, {size_of(x), acc}, {}, a.ctx.next_number++, {}};
    if (acc < kBar) {
      o.state = Observation::State::kPruned;
      o.values.clear();
      if (record_partial) o.partial = {NAN, acc};
    } else {
      ++feasible;
    }
    a.ctx.history.push_back(std::move(o));
  }
  return feasible;
}

TEST(BoSampler, UsesThePartialEstimatesOfPrunedTrials) {
  // Imputing pruned trials at the worst COMPLETE value made every collapsed candidate look as good
  // as the one warm-start trial, and bo kept proposing them (real problem at 5,000
  // validation images: 197 of 200 pruned). With the partial estimates it learns where the cliff
  // is and proposes candidates that meet the bar.
  size_t with = 0, without = 0;
  for (uint64_t seed = 0; seed < 3; ++seed) {
    with += feasible_with_pruning(seed, true, 30);
    without += feasible_with_pruning(seed, false, 30);
  }
  EXPECT_GE(with, without + 5) << "with partial estimates " << with << ", without " << without;
}

TEST(AutoSampler, RandomDesignThenBoThenNsga2) {
  Study a;
  auto sampler =
      make_sampler("auto", 4, R"({"n_init": 5, "handover": 12, "bo": {"candidates": 200}})");
  a.run(*sampler, 14);
  for (int64_t k : {2, 8, 13}) {  // design, bo, nsga2 phases: same proposal as that sampler
    Study r;
    r.ctx.history.assign(a.ctx.history.begin(), a.ctx.history.begin() + k);
    r.ctx.next_number = k;
    const std::string name = k < 5 ? "random" : k < 12 ? "bo" : "nsga2";
    const std::string settings = k < 5    ? R"({"n_init": 5})"
                                 : k < 12 ? R"({"n_init": 5, "candidates": 200})"
                                          : "";
    EXPECT_EQ(make_sampler(name, 4, settings)->ask(r.ctx, 1).at(0), a.ctx.history[k].x)
        << "trial " << k << " should come from " << name;
  }
  EXPECT_FALSE(set_prior_mean(*make_sampler("random", 1), 0, {}));
}

TEST(AutoSampler, DefaultHandoverDependsOnTheProblem) {
  // Compression-like (one black-box objective, the others known): NSGA-II from trial 100.
  Study a;
  a.run(*make_sampler("random", 3), 12);
  EXPECT_EQ(default_handover(a.ctx), 100);
  auto sampler = make_sampler("auto", 4, R"({"bo": {"candidates": 200}})");
  for (int64_t next : {99, 100}) {
    a.ctx.next_number = next;
    const std::string name = next < 100 ? "bo" : "nsga2";
    const std::string settings = next < 100 ? R"({"candidates": 200})" : "";
    EXPECT_EQ(sampler->ask(a.ctx, 1).at(0), make_sampler(name, 4, settings)->ask(a.ctx, 1).at(0))
        << "trial " << next << " should come from " << name;
  }
  // Every objective black-box (ZDT-like), or two black-box ones: 300.
  a.ctx.known = {0, 0};
  EXPECT_EQ(default_handover(a.ctx), 300);
  a.ctx.senses.push_back(Sense::kMinimize), a.ctx.known = {1, 0, 0};
  EXPECT_EQ(default_handover(a.ctx), 300);
}

}  // namespace
}  // namespace autocompress
