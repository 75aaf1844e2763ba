// The study loop's incremental view (search/study_cache): after every change, also by another
// StudyRunner on another handle of the same SQLite file, it equals the view rebuilt from all
// trials (sampler_context, front_points, summarize).
#include "search/study/study_cache.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "search/samplers/rng.hpp"
#include "search/study/study.hpp"
#include "storage/sqlite_storage.hpp"
#include "tests/search/study/small_problem.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

const CompressionProblem& problem() {
  static const CompressionProblem p(small_problem_config(200, 2.0));
  return p;
}

bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

// What an evaluation on the whole validation set records, with a made-up drop (points).
TrialResult result_of(const Candidate& x, TrialState state, double drop) {
  const auto& p = problem();
  TrialResult r;
  r.state = state;
  r.values = p.known_values(x);
  for (auto& v : r.values)
    if (std::isnan(v)) v = p.original_accuracy() - drop / 100;
  if (state == TrialState::kPruned) r.values[1] = NAN;  // a partial estimate
  if (state == TrialState::kFail) r.values.clear();
  r.constraints = {drop - 2.0};
  for (double v : p.cheap_constraints(x)) r.constraints.push_back(v);
  r.metrics["accuracy_drop"] = drop;
  r.metrics["images"] = double(state == TrialState::kComplete ? p.validation_size() : 100);
  return r;
}

void expect_same_as_from_scratch(StudyCache& cache, const Study& s, const Storage& st) {
  const auto trials = st.trials(s.id);
  const SamplerContext want = sampler_context(problem(), trials);
  const SamplerContext& got = cache.context();
  EXPECT_EQ(got.next_number, want.next_number);
  EXPECT_EQ(got.pending, want.pending);
  ASSERT_EQ(got.history.size(), want.history.size());
  for (size_t i = 0; i < want.history.size(); ++i) {
    const auto &g = got.history[i], &w = want.history[i];
    EXPECT_EQ(g.number, w.number);
    EXPECT_EQ(g.x, w.x) << w.number;
    EXPECT_EQ(g.state, w.state) << w.number;
    EXPECT_TRUE(same(g.values, w.values)) << w.number;
    EXPECT_TRUE(same(g.partial, w.partial)) << w.number;
    EXPECT_TRUE(same(g.constraints, w.constraints)) << w.number;
  }
  const auto front = problem().front_points(trials);
  ASSERT_EQ(cache.front().size(), front.size());
  for (size_t i = 0; i < front.size(); ++i) {
    EXPECT_EQ(cache.front()[i].number, front[i].number);
    EXPECT_EQ(cache.front()[i].values, front[i].values);
    EXPECT_EQ(cache.front()[i].drop, front[i].drop);
  }
  const StudySummary a = cache.summary(), b = summarize(s, trials);
  EXPECT_EQ(a.complete, b.complete);
  EXPECT_EQ(a.pruned, b.pruned);
  EXPECT_EQ(a.failed, b.failed);
  EXPECT_EQ(a.running, b.running);
  EXPECT_EQ(a.front_size, b.front_size);
  EXPECT_TRUE(same(a.best, b.best));
  // The same dominated volume from the front alone (summation order may differ).
  EXPECT_NEAR(a.hypervolume, b.hypervolume, 1e-12 * std::abs(b.hypervolume));
  EXPECT_EQ(cache.finished(), b.complete + b.pruned + b.failed);
}

TEST(StudyCache, EqualsTheViewFromScratchWhileAnotherRunnerAddsTrials) {
  storage_testing::TempDir dir;
  SqliteStorage mine(dir.file("study.db")), theirs(dir.file("study.db"));
  StudyOptions o;
  o.name = "shared";
  o.sampler = "random";
  StudyRunner me(mine, problem(), o), other(theirs, problem(), o);
  ASSERT_EQ(me.study().id, other.study().id);
  const Study& s = me.study();
  StudyCache cache(problem(), s);
  cache.refresh(mine);
  expect_same_as_from_scratch(cache, s, mine);

  // The other runner finishes trials (warm-start baselines, then random ones) between my asks.
  Rng rng(3);
  std::vector<StudyRunner::Asked> open;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 3; ++i) {
      const auto a = other.ask_one();
      const TrialState state = i == 1 && round % 2 ? TrialState::kPruned : TrialState::kComplete;
      theirs.tell(s.id, a.number, result_of(a.x, state, 4 * rng.uniform()));
    }
    open.push_back(me.ask_one());  // RUNNING (pending) until told below
    EXPECT_GT(cache.refresh(mine), 0u);
    expect_same_as_from_scratch(cache, s, mine);
    // My asks see the front the other runner's trials make.
    ASSERT_EQ(open.back().front.size(), cache.front().size());
  }
  EXPECT_FALSE(cache.front().empty());  // the comparisons above were not of empty fronts
  EXPECT_GT(cache.summary().front_size, 0u);
  EXPECT_GT(cache.summary().pruned, 0);
  // Open trials finish out of number order, one fails; a FAIL without params.
  theirs.tell(s.id, open[2].number, result_of(open[2].x, TrialState::kComplete, 0.1));
  mine.tell(s.id, open[0].number, result_of(open[0].x, TrialState::kFail, 0));
  const auto bare = theirs.ask(s.id, "x");
  theirs.tell(s.id, bare.number, {TrialState::kFail, {}, {}, {}, "no params", {}});
  cache.refresh(mine);
  expect_same_as_from_scratch(cache, s, mine);
  // A stale trial becomes FAIL and comes back WAITING with its params (pending again).
  EXPECT_GE(theirs.fail_stale_trials(-1), 2);
  cache.refresh(mine);
  expect_same_as_from_scratch(cache, s, mine);
  EXPECT_FALSE(cache.context().pending.empty());
  // A fresh cache reads it all at once and agrees.
  StudyCache fresh(problem(), s);
  fresh.refresh(theirs);
  expect_same_as_from_scratch(fresh, s, theirs);
}

// Two workers in one process share the runner's view under its proposal lock: the second
// proposal sees the first, still RUNNING, as pending (so no candidate repeats: the warm-start
// baselines and random proposals avoid pending ones) and the final summary is the one from scratch.
TEST(StudyCache, TwoWorkersInOneProcessSeeEachOthersPendingTrials) {
  storage_testing::TempDir dir;
  SqliteStorage st(dir.file("study.db"));
  StudyOptions o;
  o.name = "workers";
  o.sampler = "random";
  o.trials = 7;
  o.workers = 2;
  o.cores = 2;
  StudyRunner r(st, problem(), o);
  const StudySummary got = r.run();
  const auto trials = st.trials(r.study().id);
  ASSERT_EQ(trials.size(), 7u);
  std::set<Candidate> seen;
  for (const auto& t : trials) {
    EXPECT_TRUE(is_finished(t.state)) << t.number;
    EXPECT_TRUE(seen.insert(candidate_from_params(problem().space(), t.params)).second)
        << "trial " << t.number << " repeats an earlier candidate";
  }
  const StudySummary want = summarize(r.study(), trials);
  EXPECT_EQ(got.complete, want.complete);
  EXPECT_EQ(got.pruned, want.pruned);
  EXPECT_EQ(got.failed, want.failed);
  EXPECT_EQ(got.front_size, want.front_size);
  EXPECT_TRUE(same(got.best, want.best));
}

}  // namespace
}  // namespace autocompress
