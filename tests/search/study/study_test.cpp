// The study loop: warm start, determinism (same seed, one worker), resume, stop, progress.
#include "search/study/study.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "search/report/front.hpp"
#include "storage/in_memory_storage.hpp"

namespace autocompress {
namespace {

const CompressionProblem& problem() {
  static const CompressionProblem p([] {
    ProblemConfig c;
    c.model = std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx";
    c.val_limit = 200;
    c.calib_limit = 64;
    c.chunk = 100;
    c.max_accuracy_drop = 2.0;
    c.latency_model = "roofline";  // the loop is under test, not the measured latency model
    return c;
  }());
  return p;
}

StudyOptions options(int64_t trials) {
  StudyOptions o;
  o.name = "t";
  o.sampler = "random";
  o.seed = 11;
  o.trials = trials;
  o.cores = 2;
  return o;
}

std::vector<std::vector<Param>> params_of(const Storage& st, const Study& s) {
  std::vector<std::vector<Param>> out;
  for (const auto& t : st.trials(s.id)) out.push_back(t.params);
  return out;
}

TEST(Study, WarmStartThenSameSeedSameSequence) {
  InMemoryStorage a, b;
  StudyRunner ra(a, problem(), options(7));
  const StudySummary sa = ra.run();
  EXPECT_EQ(sa.complete + sa.pruned + sa.failed, 7);
  const auto base = warm_start_baselines(problem().space());
  ASSERT_GE(base.size(), 3u);
  const auto trials = a.trials(ra.study().id);
  for (size_t i = 0; i < base.size(); ++i) {
    EXPECT_EQ(candidate_from_params(problem().space(), trials[i].params), base[i].x)
        << base[i].name;
    // Recorded by name, so that `pareto --verify` and the report know every baseline, the
    // pruning ones included (groups that cannot be pruned keep level 0, so their params alone
    // do not read as one uniform setting).
    EXPECT_EQ(uniform_policy(ra.study(), trials[i]), base[i].name);
  }
  ASSERT_GT(trials.size(), base.size());
  EXPECT_EQ(trials[base.size()].user_attrs.count("baseline"), 0u);
  StudyRunner rb(b, problem(), options(7));
  rb.run();
  EXPECT_EQ(params_of(a, ra.study()), params_of(b, rb.study()));
}

TEST(Study, ResumesWhereItStopped) {
  InMemoryStorage once, twice;
  StudyRunner full(once, problem(), options(7));
  full.run();
  {
    StudyRunner first(twice, problem(), options(4));
    first.run();
  }
  StudyRunner second(twice, problem(), options(7));
  second.run();
  EXPECT_EQ(params_of(once, full.study()), params_of(twice, second.study()));
}

// --trials is the study's budget: trials another worker finishes while this one runs count too,
// so the runner stops when the study has that many finished trials, not when it did that many.
TEST(Study, BudgetCountsTrialsOtherWorkersFinish) {
  InMemoryStorage st;
  StudyRunner r(st, problem(), options(6));
  const StudySummary sum = r.run([&](const StudyProgress& p) {
    if (p.final || p.finished_in_run != 1) return;
    for (int i = 0; i < 3; ++i) {  // another worker's three trials
      const FrozenTrial t = st.ask(r.study().id, "other");
      st.tell(r.study().id, t.number, {TrialState::kFail, {}, {}, {}, "other worker", {}});
    }
  });
  EXPECT_EQ(sum.complete + sum.pruned + sum.failed, 6);
  int64_t ours = 0;
  for (const auto& t : st.trials(r.study().id)) ours += t.worker != "other";
  EXPECT_EQ(ours, 3);
}

// The runner prints nothing: it reports to its callback after every finished trial and once at
// the end, with the study's counts, this run's budget and whether the front grew.
TEST(Study, ReportsProgressToItsCallback) {
  InMemoryStorage st;
  StudyRunner r(st, problem(), options(5));
  std::vector<StudyProgress> seen;
  const StudySummary sum = r.run([&](const StudyProgress& p) { seen.push_back(p); });
  ASSERT_EQ(seen.size(), 6u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(seen[i].finished_in_run, int64_t(i + 1));
    EXPECT_EQ(seen[i].finished(), int64_t(i + 1));
    EXPECT_EQ(seen[i].trials_budget, 5);
    EXPECT_FALSE(seen[i].final);
    EXPECT_TRUE(seen[i].event.empty()) << seen[i].event;
  }
  EXPECT_TRUE(seen.back().final);
  EXPECT_EQ(seen.back().finished(), sum.complete + sum.pruned + sum.failed);
  EXPECT_EQ(seen.back().study.front_size, sum.front_size);
  double hv = 0;
  for (const auto& p : seen) {
    EXPECT_EQ(p.front_improved, p.study.hypervolume > hv);
    hv = std::max(hv, p.study.hypervolume);
  }
}

TEST(Study, StopBeforeRunStartsNothingAndOtherSettingsAreRefused) {
  InMemoryStorage st;
  StudyRunner r(st, problem(), options(5));
  r.request_stop();
  r.run();
  EXPECT_TRUE(st.trials(r.study().id).empty());
  StudyOptions other = options(5);
  other.seed = 12;
  EXPECT_THROW(StudyRunner(st, problem(), other), UsageError);
}

TEST(Study, AskAndTellLikeAnExternalEvaluator) {
  InMemoryStorage st;
  StudyRunner r(st, problem(), options(5));
  const auto asked = r.ask_one();
  EXPECT_EQ(asked.number, 0);
  EXPECT_NO_THROW(parse_recipe(asked.recipe_json));
  tell_values(st, r.study(), asked.number, {0.5, 0.1, 0.2});
  const auto t = st.find_trial(r.study().id, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, TrialState::kComplete);
  ASSERT_TRUE(t->user_attrs.count("recipe"));  // the exact recipe `ask` printed, for export
  EXPECT_EQ(t->user_attrs.at("recipe"), asked.recipe_json);
  ASSERT_TRUE(t->user_attrs.count("baseline"));  // the first warm-start candidate, by name
  EXPECT_EQ(t->user_attrs.at("baseline"), warm_start_baselines(problem().space()).at(0).name);
  ASSERT_EQ(t->constraints.size(), 1u);  // accuracy_drop, from the recorded original accuracy
  EXPECT_GT(t->constraints[0], 0);
  const StudySummary s = summarize(r.study(), st.trials(r.study().id));
  EXPECT_EQ(s.complete, 1);
  EXPECT_EQ(s.front_size, 0u);  // infeasible
}

}  // namespace
}  // namespace autocompress
