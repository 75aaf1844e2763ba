// One suite for every sampler make_sampler knows (Optuna's and pagmo's practice): valid candidates,
// frozen knobs, cheap constraints, seeded determinism, resume from a rebuilt history, batches.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "common/error.hpp"
#include "search/samplers/sampler.hpp"

namespace autocompress {
namespace {

// Settings that keep each sampler's suite fast (a small population, a short initial design).
std::string fast_settings(const std::string& name) {
  if (name == "nsga2") return R"({"population_size": 8})";
  if (name == "random") return R"({"n_init": 6})";
  if (name == "bo") return R"({"n_init": 6, "candidates": 200, "mc_samples": 8})";
  if (name == "auto")
    return R"({"n_init": 6, "handover": 24, "bo": {"candidates": 200, "mc_samples": 8}})";
  return "";
}

SearchSpace test_space() {
  SearchSpace s;
  const std::vector<std::pair<int, int>> knobs = {{3, -1}, {5, -1}, {2, -1}, {8, -1},
                                                  {4, 2},  {1, -1}, {6, -1}};  // (levels, fixed)
  for (size_t j = 0; j < knobs.size(); ++j) {
    Knob k{"k" + std::to_string(j), Knob::Type::kGeneric, {}, knobs[j].second};
    for (int l = 0; l < knobs[j].first; ++l) k.levels.emplace_back(double(l));
    s.knobs.push_back(std::move(k));
  }
  return s;
}

// Two objectives (minimize "size", maximize "quality") and one evaluated constraint.
Observation evaluate(const Candidate& x, int64_t number) {
  Observation o{x, Observation::State::kComplete, {}, {}, number, {}};
  if (number % 7 == 6) {
    o.state = Observation::State::kFail;
    return o;
  }
  double size = 0, quality = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    size += (j % 2 ? 1.0 : 0.5) * x[j];
    quality += (j % 3 ? 1.0 : 2.0) * x[j] * x[j] / (1 + j);
  }
  o.values = {size, quality};
  o.constraints = {size - 14};
  return o;
}

struct Harness {
  SearchSpace space = test_space();
  SamplerContext ctx;
  explicit Harness(bool satisfiable = true) {
    ctx.space = &space;
    ctx.senses = {Sense::kMinimize, Sense::kMaximize};
    ctx.known = {0, 0};
    ctx.known_values = [](const Candidate&) { return std::vector<double>{NAN, NAN}; };
    // Cheap constraint: knobs 1 and 3 together at most 7 levels (or never, when unsatisfiable).
    ctx.cheap_constraints = [satisfiable](const Candidate& c) {
      return std::vector<double>{satisfiable ? c[1] + c[3] - 7.0 : 1.0 + c[0]};
    };
    ctx.reference_point = {40, 0};
  }
  // Asks q, evaluates and records them; returns what was proposed.
  std::vector<Candidate> step(Sampler& s, size_t q = 1) {
    auto xs = s.ask(ctx, q);
    for (const auto& x : xs) ctx.history.push_back(evaluate(x, ctx.next_number++));
    return xs;
  }
};

constexpr size_t kTrials = 40;

class SamplerConformance : public testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Sampler> make(uint64_t seed) {
    return make_sampler(GetParam(), seed, fast_settings(GetParam()));
  }
};

TEST_P(SamplerConformance, ProposesValidAllowedNewCandidates) {
  Harness h;
  auto s = make(1);
  EXPECT_EQ(s->name(), GetParam());
  std::set<Candidate> seen;
  for (size_t t = 0; t < kTrials; ++t) {
    const auto x = h.step(*s).at(0);
    EXPECT_NO_THROW(check_candidate(h.space, x));
    EXPECT_EQ(x[4], 2) << "frozen knob moved";
    EXPECT_EQ(cheap_violation(h.ctx, x), 0.0) << "trial " << t;
    EXPECT_TRUE(seen.insert(x).second) << "trial " << t << " repeats a candidate";
  }
}

TEST_P(SamplerConformance, SameSeedAndHistoryGiveTheSameProposals) {
  Harness a, b, c;
  auto sa = make(7), sb = make(7), sc = make(8);
  std::vector<Candidate> xa, xb, xc;
  for (size_t t = 0; t < kTrials; ++t) {
    xa.push_back(a.step(*sa).at(0));
    xb.push_back(b.step(*sb).at(0));
    xc.push_back(c.step(*sc).at(0));
  }
  EXPECT_EQ(xa, xb);
  EXPECT_NE(xa, xc) << "another seed should give another run";
}

TEST_P(SamplerConformance, ResumesFromARebuiltHistory) {
  Harness h;
  auto s = make(3);
  std::vector<Candidate> continuous;
  for (size_t t = 0; t < kTrials; ++t) continuous.push_back(h.step(*s).at(0));
  for (size_t k : {size_t{0}, size_t{5}, size_t{17}, kTrials - 1}) {
    Harness resumed;  // a fresh process: new sampler, history read back trial by trial
    for (size_t t = 0; t < k; ++t)
      resumed.ctx.history.push_back(evaluate(continuous[t], int64_t(t)));
    resumed.ctx.next_number = int64_t(k);
    auto fresh = make(3);
    EXPECT_EQ(fresh->ask(resumed.ctx, 1).at(0), continuous[k]) << "resumed at trial " << k;
  }
}

TEST_P(SamplerConformance, BatchesAreDistinctAndAvoidPendingTrials) {
  Harness h;
  auto s = make(5);
  for (size_t t = 0; t < 20; ++t) h.step(*s);
  h.ctx.pending = s->ask(h.ctx, 2);
  h.ctx.next_number += 2;
  const auto batch = s->ask(h.ctx, 6);
  ASSERT_EQ(batch.size(), 6u);
  std::set<Candidate> distinct(batch.begin(), batch.end());
  EXPECT_EQ(distinct.size(), 6u);
  for (const auto& x : batch) {
    EXPECT_NO_THROW(check_candidate(h.space, x));
    EXPECT_EQ(cheap_violation(h.ctx, x), 0.0);
    for (const auto& p : h.ctx.pending) EXPECT_NE(x, p);
    for (const auto& o : h.ctx.history) EXPECT_NE(x, o.x);
  }
}

TEST_P(SamplerConformance, UnsatisfiableCheapConstraintsStillGiveValidCandidates) {
  Harness h(/*satisfiable=*/false);
  auto s = make(2);
  for (size_t t = 0; t < 12; ++t) {
    const auto xs = h.step(*s, 2);
    ASSERT_EQ(xs.size(), 2u);
    for (const auto& x : xs) {
      EXPECT_NO_THROW(check_candidate(h.space, x));
      EXPECT_EQ(x[0], 0) << "the least violating candidate has knob 0 at level 0";
    }
  }
}

TEST_P(SamplerConformance, RejectsUnknownSettings) {
  EXPECT_THROW(make_sampler(GetParam(), 1, R"({"no_such_setting": 1})"), UsageError);
  EXPECT_THROW(make_sampler(GetParam(), 1, "{not json"), UsageError);
}

INSTANTIATE_TEST_SUITE_P(AllSamplers, SamplerConformance, testing::ValuesIn(sampler_names()),
                         [](const auto& info) { return info.param; });

TEST(MakeSampler, UnknownNameIsAUsageError) {
  try {
    make_sampler("simulated-annealing", 1);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("simulated-annealing"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("random"), std::string::npos);
  }
}

}  // namespace
}  // namespace autocompress
