// Two `autocompress search` processes running the same command on one study, as two machines
// would: --trials N is the study's budget, so they stop together at N finished trials (at most one
// more, the other's trial in flight), not at 2N; numbering stays dense. On an SQLite file and on
// the test PostgreSQL server (tests/storage/pg_test_server.hpp).
#include <gtest/gtest.h>

#include <cstdlib>

#include "storage/open_storage.hpp"
#include "tests/storage/pg_test_server.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

using storage_testing::file_bytes;
using storage_testing::PgTestDatabase;
using storage_testing::TempDir;

// Runs the same search twice at once on `db`; checks both succeed and the study's trials.
void two_searches(const std::string& db, const TempDir& dir) {
  const std::string search = std::string(AC_CLI) +
                             " search --trials 10 --val-limit 100 --calib-limit 32 "
                             "--no-warm-start -q --study two --db '" +
                             db + "'";
  const std::string out1 = dir.file("1.out"), out2 = dir.file("2.out");
  const std::string both = search + " >" + out1 + " 2>&1 & p=$!; " + search + " >" + out2 +
                           " 2>&1; r2=$?; wait $p; r1=$?; exit $((r1 | r2))";
  const int rc = std::system(both.c_str());
  const std::string logs = file_bytes(out1) + file_bytes(out2);
  EXPECT_EQ(rc, 0) << logs;
  EXPECT_EQ(logs.find("error"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("locked"), std::string::npos) << logs;

  const auto st = open_storage(db, {.read_only = true});
  const Study s = st->get_study("two");
  const auto trials = st->trials(s.id);
  int64_t finished = 0;
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, int64_t(i));
    finished += trials[i].state != TrialState::kRunning && trials[i].state != TrialState::kWaiting;
  }
  EXPECT_EQ(finished, int64_t(trials.size()));
  EXPECT_GE(finished, 10);
  EXPECT_LE(finished, 11) << "the budget is the study's, not each process's";
}

TEST(SharedStudyCli, TwoSearchesOnOneSqliteStudyStopTogether) {
  TempDir dir;
  two_searches(dir.file("two.db"), dir);
}

TEST(SharedStudyCli, TwoSearchesOnOnePostgresStudyStopTogether) {
  PgTestDatabase db;
  if (!db.ok()) GTEST_SKIP() << db.skip_reason();
  TempDir dir;
  two_searches(db.uri(), dir);
}

}  // namespace
}  // namespace autocompress
