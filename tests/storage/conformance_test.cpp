// The storage conformance suite: every Storage backend must pass every case here.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include "storage/filter.hpp"
#include "storage/heartbeat.hpp"
#include "storage/in_memory_storage.hpp"
#include "storage/pg_storage.hpp"
#include "storage/sqlite_storage.hpp"
#include "storage/storage_error.hpp"
#include "tests/storage/pg_test_server.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

using storage_testing::test_params;
using storage_testing::test_result;
using storage_testing::test_spec;

struct InMemoryBackend {
  std::unique_ptr<Storage> make() { return std::make_unique<InMemoryStorage>(); }
};
struct SqliteBackend {
  storage_testing::TempDir dir;
  std::unique_ptr<Storage> make() { return std::make_unique<SqliteStorage>(dir.file("trials.db")); }
};

// A fresh database per test on the test server (tests/storage/pg_test_server.hpp); make() gives
// nullptr when there is no server, and the case skips with the reason.
struct PostgresBackend {
  storage_testing::PgTestDatabase db;
  std::unique_ptr<Storage> make() {
    if (!db.ok()) return nullptr;
    return std::make_unique<PgStorage>(db.uri());
  }
  std::string skip_reason() const { return db.skip_reason(); }
};

template <class Backend>
class StorageConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (requires { backend.skip_reason(); })
      if (!st) GTEST_SKIP() << backend.skip_reason();
  }

  Backend backend;
  std::unique_ptr<Storage> st = backend.make();

  // Records `n` complete trials into `study`, returns the study.
  void record(const Study& s, int n) {
    for (int i = 0; i < n; ++i) {
      const auto t = st->ask(s.id, "w");
      st->set_params(s.id, t.number, test_params(t.number));
      st->tell(s.id, t.number, test_result(t.number));
    }
  }
};

using Backends = ::testing::Types<InMemoryBackend, SqliteBackend, PostgresBackend>;
TYPED_TEST_SUITE(StorageConformance, Backends);

TYPED_TEST(StorageConformance, StudyRoundTrips) {
  const Study s = this->st->create_study(test_spec("a"));
  const auto found = this->st->find_study("a");
  ASSERT_TRUE(found);
  EXPECT_EQ(static_cast<const StudySpec&>(*found), test_spec("a"));
  EXPECT_EQ(found->id, s.id);
  EXPECT_GT(found->created_at, 1.6e9);
  EXPECT_FALSE(this->st->find_study("b"));
  this->st->set_study_user_attr(s.id, "note", "x");
  EXPECT_EQ(this->st->get_study("a").user_attrs.at("note"), "x");
}

TYPED_TEST(StorageConformance, UnknownAndDuplicateStudiesAreClearErrors) {
  this->st->create_study(test_spec("first"));
  try {
    this->st->get_study("nope");
    FAIL() << "expected an error";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("unknown study 'nope'; known: first"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(this->st->create_study(test_spec("first")), StorageError);
  const Study again = this->st->create_study(test_spec("first"), /*load_if_exists=*/true);
  EXPECT_EQ(again.id, this->st->get_study("first").id);
  auto other = test_spec("first");
  other.objectives.pop_back();
  EXPECT_THROW(this->st->create_study(other, true), StorageError);
  EXPECT_EQ(this->st->studies().size(), 1u);
}

TYPED_TEST(StorageConformance, AskGivesDenseNumbers) {
  const Study s = this->st->create_study(test_spec());
  for (int i = 0; i < 5; ++i) {
    const auto t = this->st->ask(s.id, "worker-1");
    EXPECT_EQ(t.number, i);
    EXPECT_EQ(t.state, TrialState::kRunning);
    EXPECT_EQ(t.worker, "worker-1");
    EXPECT_GT(t.heartbeat_at, 0);
  }
}

TYPED_TEST(StorageConformance, TrialRoundTrips) {
  const Study s = this->st->create_study(test_spec());
  const auto t = this->st->ask(s.id, "w");
  this->st->set_params(s.id, t.number, test_params(3));
  this->st->heartbeat(s.id, t.number);
  auto r = test_result(3);
  r.user_attrs = {{"log", "ok"}};
  this->st->tell(s.id, t.number, r);
  const auto got = this->st->find_trial(s.id, t.number);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, TrialState::kComplete);
  auto params = test_params(3);
  std::sort(params.begin(), params.end(), [](auto& a, auto& b) { return a.name < b.name; });
  EXPECT_EQ(got->params, params);
  EXPECT_EQ(got->values, r.values);
  EXPECT_EQ(got->metrics, r.metrics);
  EXPECT_EQ(got->constraints, r.constraints);
  EXPECT_EQ(got->user_attrs, r.user_attrs);
  EXPECT_GE(got->finished_at, got->started_at);
  EXPECT_FALSE(this->st->find_trial(s.id, 99));
  EXPECT_EQ(this->st->metric_names(s.id), (std::vector<std::string>{"kl", "macs", "top5"}));
}

TYPED_TEST(StorageConformance, NanAndFailedTrials) {
  const Study s = this->st->create_study(test_spec());
  auto t = this->st->ask(s.id, "w");
  TrialResult r = test_result(0);
  r.metrics["kl"] = NAN;
  this->st->tell(s.id, t.number, r);
  EXPECT_TRUE(std::isnan(this->st->find_trial(s.id, 0)->metrics.at("kl")));
  t = this->st->ask(s.id, "w");
  this->st->tell(s.id, t.number, {TrialState::kFail, {}, {}, {}, "out of memory", {}});
  const auto f = this->st->find_trial(s.id, 1);
  EXPECT_EQ(f->state, TrialState::kFail);
  EXPECT_EQ(f->error, "out of memory");
  EXPECT_TRUE(f->values.empty());
}

TYPED_TEST(StorageConformance, FinishedTrialsAreImmutable) {
  const Study s = this->st->create_study(test_spec());
  this->record(s, 1);
  const auto before = *this->st->find_trial(s.id, 0);
  EXPECT_THROW(this->st->set_params(s.id, 0, {}), StorageError);
  EXPECT_THROW(this->st->heartbeat(s.id, 0), StorageError);
  EXPECT_THROW(this->st->tell(s.id, 0, test_result(5)), StorageError);
  const auto after = *this->st->find_trial(s.id, 0);
  EXPECT_EQ(after.values, before.values);
  EXPECT_EQ(after.params, before.params);
  EXPECT_EQ(after.finished_at, before.finished_at);
}

TYPED_TEST(StorageConformance, BadResultsAreRefusedAndChangeNothing) {
  const Study s = this->st->create_study(test_spec());
  const auto t = this->st->ask(s.id, "w");
  TrialResult r = test_result(0);
  r.values.pop_back();
  EXPECT_THROW(this->st->tell(s.id, t.number, r), StorageError);
  r = test_result(0);
  r.constraints.push_back(1);
  EXPECT_THROW(this->st->tell(s.id, t.number, r), StorageError);
  r.state = TrialState::kRunning;
  EXPECT_THROW(this->st->tell(s.id, t.number, r), StorageError);
  EXPECT_EQ(this->st->find_trial(s.id, t.number)->state, TrialState::kRunning);
  EXPECT_TRUE(this->st->find_trial(s.id, t.number)->values.empty());
}

TYPED_TEST(StorageConformance, SnapshotsDoNotChange) {
  const Study s = this->st->create_study(test_spec());
  this->record(s, 2);
  const auto t = this->st->ask(s.id, "w");
  const auto snapshot = this->st->trials(s.id);
  this->st->tell(s.id, t.number, test_result(2));
  this->record(s, 2);
  ASSERT_EQ(snapshot.size(), 3u);
  EXPECT_EQ(snapshot[2].state, TrialState::kRunning);
  EXPECT_TRUE(snapshot[2].values.empty());
  EXPECT_EQ(this->st->trials(s.id).size(), 5u);
}

TYPED_TEST(StorageConformance, StaleTrialsFailAndAreRequeuedOnce) {
  const Study s = this->st->create_study(test_spec());
  this->record(s, 1);
  const auto t = this->st->ask(s.id, "crashy");
  this->st->set_params(s.id, t.number, test_params(7));
  EXPECT_EQ(this->st->fail_stale_trials(/*grace_seconds=*/-1), 1);
  const auto failed = *this->st->find_trial(s.id, t.number);
  EXPECT_EQ(failed.state, TrialState::kFail);
  EXPECT_NE(failed.error.find("heartbeat"), std::string::npos) << failed.error;
  EXPECT_EQ(this->st->find_trial(s.id, 0)->state, TrialState::kComplete);  // finished: untouched

  const auto again = this->st->ask(s.id, "w2");  // takes the re-queued trial, with its params
  EXPECT_EQ(again.number, 2);
  EXPECT_EQ(again.requeued_from, std::optional<int64_t>(1));
  EXPECT_EQ(again.params, failed.params);
  EXPECT_EQ(this->st->fail_stale_trials(-1), 1);  // fails again: not re-queued a second time
  EXPECT_EQ(this->st->find_trial(s.id, 2)->state, TrialState::kFail);
  EXPECT_FALSE(this->st->find_trial(s.id, 3));
  EXPECT_EQ(this->st->ask(s.id, "w3").number, 3);
  EXPECT_EQ(this->st->fail_stale_trials(3600), 0);  // fresh heartbeat
}

TYPED_TEST(StorageConformance, HeartbeatKeepsASlowTrialAlive) {
  const Study s = this->st->create_study(test_spec());
  const auto t = this->st->ask(s.id, "slow");
  {
    Heartbeat beat(*this->st, s.id, t.number, /*interval_s=*/0.02);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // longer than the grace
    EXPECT_EQ(this->st->fail_stale_trials(/*grace_seconds=*/0.5), 0);
    EXPECT_GT(this->st->find_trial(s.id, t.number)->heartbeat_at, t.heartbeat_at);
    EXPECT_EQ(beat.error(), "");
  }
  this->st->tell(s.id, t.number, test_result(0));
  {
    Heartbeat late(*this->st, s.id, t.number, 0.01);  // the trial is finished: beats fail
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_NE(late.error().find("only RUNNING trials can change"), std::string::npos)
        << late.error();
  }
}

// `autocompress ask` reserves a trial that nobody heartbeats while the user evaluates it for hours:
// its lease keeps it RUNNING past the grace, and when the lease ends it is failed as stale.
TYPED_TEST(StorageConformance, LeaseKeepsATrialWithoutHeartbeats) {
  auto& st = *this->st;
  const Study s = st.create_study(test_spec());
  const auto leased = st.ask(s.id, "cli");
  const auto plain = st.ask(s.id, "gone");
  st.lease(s.id, leased.number, 8 * 3600);
  const auto t = *st.find_trial(s.id, leased.number);
  EXPECT_NEAR(t.lease_until - t.heartbeat_at, 8 * 3600, 1e-3);
  EXPECT_EQ(st.fail_stale_trials(/*grace_seconds=*/-1), 1);  // every heartbeat is stale now
  EXPECT_EQ(st.find_trial(s.id, plain.number)->state, TrialState::kFail);
  EXPECT_TRUE(failed_as_stale(*st.find_trial(s.id, plain.number)));
  EXPECT_EQ(st.find_trial(s.id, leased.number)->state, TrialState::kRunning);

  st.lease(s.id, leased.number, 0.05);  // shortened; it ends while the heartbeat is fresh
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(st.fail_stale_trials(3600), 0);  // the heartbeat still counts
  EXPECT_EQ(st.fail_stale_trials(-1), 1);
  const auto failed = *st.find_trial(s.id, leased.number);
  EXPECT_TRUE(failed_as_stale(failed));
  EXPECT_NE(failed.error.find("lease of worker 'cli' ended"), std::string::npos) << failed.error;
  EXPECT_THROW(st.lease(s.id, leased.number, 60), StorageError);  // finished: immutable
  EXPECT_THROW(st.tell(s.id, leased.number, test_result(0)), StorageError);

  const auto copy = st.ask(s.id, "w");  // plain's re-queued copy: no lease of its own
  EXPECT_EQ(copy.requeued_from, std::optional<int64_t>(plain.number));
  EXPECT_EQ(copy.lease_until, 0);
  st.lease(s.id, copy.number, 3600);
  st.lease(s.id, copy.number, 0);  // removed: the grace alone decides again
  EXPECT_EQ(st.find_trial(s.id, copy.number)->lease_until, 0);
  EXPECT_EQ(st.fail_stale_trials(-1), 1);
  const auto own = st.ask(s.id, "w");  // failed by its worker: not stale
  TrialResult r;
  r.state = TrialState::kFail;
  r.error = "oneDNN: out of memory";
  st.tell(s.id, own.number, r);
  EXPECT_FALSE(failed_as_stale(*st.find_trial(s.id, own.number)));
}

// What the study loop's incremental view reads per trial: trials from a number on, plus the ones
// it saw unfinished, each as a full listing shows it (also after it finished meanwhile).
TYPED_TEST(StorageConformance, TrialsSinceReadsNewAndNamedTrials) {
  const Study s = this->st->create_study(test_spec());
  this->record(s, 3);                        // 0..2 COMPLETE
  const auto r3 = this->st->ask(s.id, "w");  // 3 RUNNING
  this->record(s, 2);                        // 4, 5 COMPLETE
  const auto r6 = this->st->ask(s.id, "w");  // 6 RUNNING
  const auto numbers = [](const std::vector<FrozenTrial>& ts) {
    std::vector<int64_t> out;
    for (const auto& t : ts) out.push_back(t.number);
    return out;
  };
  EXPECT_EQ(numbers(this->st->trials_since(s.id, 0)), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(numbers(this->st->trials_since(s.id, 5)), (std::vector<int64_t>{5, 6}));
  EXPECT_TRUE(this->st->trials_since(s.id, 7).empty());
  const std::vector<int64_t> also = {r6.number, 99, r3.number, 1};  // any order, unknown skipped
  EXPECT_EQ(numbers(this->st->trials_since(s.id, 5, also)), (std::vector<int64_t>{1, 3, 5, 6}));
  // Trial 3 finishes and a new one starts: a reader that saw 0..6 asks for 7 on and 3, 6.
  this->st->set_params(s.id, r3.number, test_params(3));
  this->st->tell(s.id, r3.number, test_result(3));
  this->st->ask(s.id, "w");
  const std::vector<int64_t> unfinished = {r3.number, r6.number};
  const auto got = this->st->trials_since(s.id, 7, unfinished);
  ASSERT_EQ(numbers(got), (std::vector<int64_t>{3, 6, 7}));
  const auto all = this->st->trials(s.id);
  for (const auto& t : got) {
    const auto& full = all.at(size_t(t.number));
    EXPECT_EQ(t.state, full.state);
    EXPECT_EQ(t.params, full.params);
    EXPECT_EQ(t.values, full.values);
    EXPECT_EQ(t.metrics, full.metrics);
    EXPECT_EQ(t.constraints, full.constraints);
    EXPECT_EQ(t.user_attrs, full.user_attrs);
  }
  EXPECT_EQ(got[0].state, TrialState::kComplete);
  EXPECT_EQ(got[1].state, TrialState::kRunning);
}

TYPED_TEST(StorageConformance, FiltersSelectTheSameTrials) {
  const Study s = this->st->create_study(test_spec());
  this->record(s, 12);
  auto t = this->st->ask(s.id, "w");  // number 12: no kl metric
  TrialResult r = test_result(12);
  r.metrics.erase("kl");
  this->st->tell(s.id, t.number, r);
  this->st->ask(s.id, "w");  // number 13: RUNNING, nothing measured
  auto numbers = [&](const std::string& where) {
    const auto f = Filter::parse(where);
    std::vector<int64_t> out;
    for (const auto& tr : this->st->trials(s.id, &f)) out.push_back(tr.number);
    return out;
  };
  using V = std::vector<int64_t>;
  EXPECT_EQ(numbers("accuracy > 0.5095"), (V{10, 11, 12}));
  EXPECT_EQ(numbers("kl >= 0.095 and latency_ms < 3.5"), (V{10, 11}));
  EXPECT_EQ(numbers("kl < 0.02 or number = 12"), (V{0, 1, 12}));
  EXPECT_EQ(numbers("not (kl > 0.01)"), (V{0, 1}));  // unknown (no kl) stays unselected
  EXPECT_EQ(numbers("number >= 13"), (V{13}));
  EXPECT_EQ(numbers("accuracy_drop <= 0.0 AND NOT number != 11"), (V{11}));
  EXPECT_EQ(numbers("top5 == 0.9 and (number < 1 or number > 11)"), (V{0, 12}));
  EXPECT_EQ(numbers("2 < latency_ms"), (V{3, 4, 5, 6, 10, 11, 12}));
  try {
    numbers("acc > 0.9");
    FAIL() << "expected an error";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("unknown name 'acc'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("accuracy, latency_ms, kl, macs, top5, accuracy_drop"),
              std::string::npos)
        << e.what();
  }
}

TYPED_TEST(StorageConformance, ThreadsShareOneStorage) {
  const Study s = this->st->create_study(test_spec());
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        const auto t = this->st->ask(s.id, "thread");
        this->st->set_params(s.id, t.number, test_params(t.number));
        this->st->tell(s.id, t.number, test_result(t.number));
      }
    });
  for (auto& t : threads) t.join();
  const auto all = this->st->trials(s.id);
  ASSERT_EQ(all.size(), 100u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].number, int64_t(i));
    EXPECT_EQ(all[i].state, TrialState::kComplete);
    EXPECT_EQ(all[i].values, test_result(int64_t(i)).values);
  }
}

}  // namespace
}  // namespace autocompress
