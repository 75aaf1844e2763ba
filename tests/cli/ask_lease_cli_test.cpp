// `autocompress ask / heartbeat / tell` for an external evaluator that takes hours: ask leases its
// trial (default 8h) so that the stale-trial sweep every worker runs leaves it alone, heartbeat
// extends the lease, and tell on a trial whose lease ended (failed as stale, re-queued) is refused
// with a message saying so and what to do. The stale sweep is the storage's own (a worker's open or
// ask runs it with a 120 s grace; here grace -1, so only the lease decides).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "storage/sqlite_storage.hpp"
#include "tests/cli/run_cli.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

using nlohmann::json;

class AskLeaseCli : public ::testing::Test {
 protected:
  // One small study made by `search` (one trial on 100 validation images), shared by the cases.
  static void SetUpTestSuite() {
    dir_.emplace("ac_lease");
    db_ = dir_->file("t.db");
    int rc = -1;
    run_cli("search --trials 1 --val-limit 100 --calib-limit 32 --no-warm-start -q --db " + db_ +
                " --study s",
            &rc);
    ASSERT_EQ(rc, 0);
  }
  static void TearDownTestSuite() { dir_.reset(); }

  // Asks for a trial; returns its number.
  static int64_t ask(const std::string& extra) {
    int rc = -1;
    const json r = json::parse(run_cli("ask --db " + db_ + " --study s " + extra, &rc));
    EXPECT_EQ(rc, 0);
    return r.at("metrics").at("trial").get<int64_t>();
  }
  static FrozenTrial trial(SqliteStorage& st, int64_t number) {
    return *st.find_trial(st.get_study("s").id, number);
  }
  static std::string where(int64_t n) {
    return "--db " + db_ + " --study s --trial " + std::to_string(n);
  }

  static std::optional<testing::TempDir> dir_;
  static std::string db_;
};
std::optional<testing::TempDir> AskLeaseCli::dir_;
std::string AskLeaseCli::db_;

TEST_F(AskLeaseCli, TheLeaseOutlivesTheGraceAndHeartbeatExtendsIt) {
  const int64_t n = ask("");  // the default lease: 8 hours
  SqliteStorage st(db_);
  const auto t = trial(st, n);
  EXPECT_NEAR(t.lease_until - t.heartbeat_at, 8 * 3600, 1);
  EXPECT_EQ(st.fail_stale_trials(/*grace_seconds=*/-1), 0);  // no heartbeat, but leased
  EXPECT_EQ(trial(st, n).state, TrialState::kRunning);

  int rc = -1;
  const std::string beat = run_cli("heartbeat " + where(n) + " --lease 30m", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(beat.find("is reserved until"), std::string::npos) << beat;
  const auto extended = trial(st, n);
  EXPECT_NEAR(extended.lease_until - extended.heartbeat_at, 1800, 1);
  EXPECT_GE(extended.heartbeat_at, t.heartbeat_at);

  run_cli("tell " + where(n) + " --values 0.8,0.05,0.02", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(trial(st, n).state, TrialState::kComplete);
}

TEST_F(AskLeaseCli, TellAfterTheLeaseEndedSaysTheTrialWasFailedAsStale) {
  const int64_t n = ask("--lease 0.05s");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  SqliteStorage st(db_);
  EXPECT_EQ(st.fail_stale_trials(-1), 1);  // what the next worker's sweep does
  EXPECT_EQ(trial(st, n).state, TrialState::kFail);

  int rc = -1;
  const std::string told = run_cli("tell " + where(n) + " --values 0.8,0.05,0.02", &rc, true);
  EXPECT_NE(rc, 0);
  EXPECT_NE(told.find("trial " + std::to_string(n) + " of study 's' was failed as stale"),
            std::string::npos)
      << told;
  EXPECT_NE(told.find("lease of worker"), std::string::npos) << told;
  EXPECT_NE(told.find("re-queued as trial " + std::to_string(n + 1) + " (now WAITING)"),
            std::string::npos)
      << told;
  EXPECT_NE(told.find("autocompress heartbeat"), std::string::npos) << told;
  EXPECT_EQ(trial(st, n).state, TrialState::kFail);  // unchanged
  EXPECT_TRUE(trial(st, n).values.empty());

  const std::string beat = run_cli("heartbeat " + where(n), &rc, true);
  EXPECT_NE(rc, 0);
  EXPECT_NE(beat.find("was failed as stale"), std::string::npos) << beat;
  run_cli("heartbeat " + where(n) + " --lease forever", &rc);
  EXPECT_NE(rc, 0);  // a usage error, also for the trial that is gone
}

// Below cli/ the messages name config keys ("values", "study"); the CLI shows them as its flags.
TEST_F(AskLeaseCli, UsageErrorsNameTheFlags) {
  const int64_t n = ask("");
  int rc = -1;
  const std::string told = run_cli("tell " + where(n) + " --values 0.8", &rc, true);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(told.find("error: --values: study 's' has 3 objectives, got 1 values"),
            std::string::npos)
      << told;
  const std::string other = run_cli(
      "search --trials 1 --val-limit 100 --calib-limit 32 -q --objectives accuracy,size --db " +
          db_ + " --study s",
      &rc, true);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(other.find("exists with another objectives; use the same settings or choose another "
                       "--study"),
            std::string::npos)
      << other;
}

}  // namespace
}  // namespace autocompress
