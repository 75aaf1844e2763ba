// copy_study (storage/study_copy.hpp): SQLite -> PostgreSQL -> SQLite gives back every field of
// the study and of every trial (numbers, states, params, values with NaN, metrics, constraints,
// user attributes, workers, timestamps, leases, re-queue links); a name the target has is
// refused and nothing is written.
#include "storage/study_copy.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "storage/open_storage.hpp"
#include "storage/sqlite_storage.hpp"
#include "storage/storage_error.hpp"
#include "tests/storage/pg_test_server.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

using storage_testing::PgTestDatabase;
using storage_testing::TempDir;

// A study with a trial in every state: COMPLETE (one with a NaN value and string params), PRUNED,
// FAIL, one failed as stale and its WAITING re-queue, a RUNNING one with a lease.
void fill(Storage& st) {
  auto spec = storage_testing::test_spec("copy");
  spec.user_attrs["config"] = R"({"val_limit": 100})";
  const Study s = st.create_study(spec);
  st.set_study_user_attr(s.id, "verify", R"({"ok": true})");
  for (int i = 0; i < 4; ++i) {
    const auto t = st.ask(s.id, "host:" + std::to_string(i));
    st.set_params(s.id, t.number, storage_testing::test_params(i));
    TrialResult r = storage_testing::test_result(i);
    if (i == 1) r.values[1] = NAN;
    if (i == 2) r = {TrialState::kPruned, {}, {{"kl", 0.5}}, {}, "pruned at chunk 1", {}};
    if (i == 3) r = {TrialState::kFail, {}, {}, {}, "boom", {}};
    r.user_attrs["recipe"] = "{\"n\": " + std::to_string(i) + "}";
    st.tell(s.id, t.number, r);
  }
  const auto stale = st.ask(s.id, "dead");
  st.set_params(s.id, stale.number, storage_testing::test_params(9));
  const auto leased = st.ask(s.id, "external");
  st.lease(s.id, leased.number, 3600);
  st.fail_stale_trials(-1);  // `stale` failed and re-queued as WAITING; the leased one runs on
}

void expect_same_trial(const FrozenTrial& a, const FrozenTrial& b) {
  SCOPED_TRACE("trial " + std::to_string(a.number));
  EXPECT_EQ(a.number, b.number);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.params, b.params);
  ASSERT_EQ(a.values.size(), b.values.size());
  for (size_t i = 0; i < a.values.size(); ++i)
    EXPECT_TRUE(a.values[i] == b.values[i] || (std::isnan(a.values[i]) && std::isnan(b.values[i])));
  EXPECT_EQ(a.metrics, b.metrics);
  EXPECT_EQ(a.constraints, b.constraints);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.finished_at, b.finished_at);
  EXPECT_EQ(a.heartbeat_at, b.heartbeat_at);
  EXPECT_EQ(a.lease_until, b.lease_until);
  EXPECT_EQ(a.worker, b.worker);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.requeued_from, b.requeued_from);
  EXPECT_EQ(a.user_attrs, b.user_attrs);
}

void expect_same_study(const Storage& a, const Storage& b, const std::string& name) {
  const Study x = a.get_study(name), y = b.get_study(name);
  EXPECT_EQ(static_cast<const StudySpec&>(x), static_cast<const StudySpec&>(y));
  EXPECT_EQ(x.created_at, y.created_at);
  EXPECT_EQ(a.metric_names(x.id), b.metric_names(y.id));
  const auto tx = a.trials(x.id), ty = b.trials(y.id);
  ASSERT_EQ(tx.size(), ty.size());
  for (size_t i = 0; i < tx.size(); ++i) expect_same_trial(tx[i], ty[i]);
}

TEST(StudyCopy, SqliteToPostgresToSqliteIsExact) {
  PgTestDatabase pg;
  if (!pg.ok()) GTEST_SKIP() << pg.skip_reason();
  TempDir dir;
  SqliteStorage home(dir.file("home.db"));
  fill(home);
  ASSERT_EQ(home.trials(home.get_study("copy").id).size(), 7u);
  const auto cluster = open_storage(pg.uri());
  copy_study(home, *cluster, "copy");
  expect_same_study(home, *cluster, "copy");
  SqliteStorage back(dir.file("back.db"));
  copy_study(*cluster, back, "copy");
  expect_same_study(home, back, "copy");
  // The copy is a working study: the WAITING re-queue is handed out next, numbering goes on.
  const Study s = back.get_study("copy");
  EXPECT_EQ(back.ask(s.id, "w").number, 6);
  EXPECT_EQ(back.ask(s.id, "w").number, 7);
}

TEST(StudyCopy, RefusesANameTheTargetHasAndWritesNothing) {
  TempDir dir;
  SqliteStorage from(dir.file("a.db")), to(dir.file("b.db"));
  fill(from);
  to.create_study(storage_testing::test_spec("copy"));
  try {
    copy_study(from, to, "copy");
    FAIL() << "copied over an existing study";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(to.trials(to.get_study("copy").id).empty());
  EXPECT_EQ(to.studies().size(), 1u);
}

}  // namespace
}  // namespace autocompress
