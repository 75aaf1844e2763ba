// SQLite-only behaviour: bad files, read-only opening, the trials_flat view, many worker
// processes, and crash safety with a SIGKILL fail-point.
#include "storage/sqlite_storage.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "storage/filter.hpp"
#include "storage/schema.hpp"
#include "storage/storage_error.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

using storage_testing::file_bytes;
using storage_testing::TempDir;
using storage_testing::test_params;
using storage_testing::test_result;
using storage_testing::test_spec;

// Runs SQL on a file with the plain SQLite API; returns the first column of the first row.
std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string out;
  char* err = nullptr;
  sqlite3_exec(
      db, sql.c_str(),
      [](void* o, int, char** v, char**) {
        auto& s = *static_cast<std::string*>(o);
        if (s.empty()) s = v[0] ? v[0] : "NULL";
        return 0;
      },
      &out, &err);
  if (err) {
    ADD_FAILURE() << sql << ": " << err;
    sqlite3_free(err);
  }
  sqlite3_close(db);
  return out;
}

// Expects constructing SqliteStorage on `path` to fail with `kind` and a message containing
// `text`, and the file to stay byte-for-byte the same.
void expect_refused(const std::string& path, ErrorKind kind, const std::string& text,
                    bool read_only = false) {
  const std::string before = file_bytes(path);
  try {
    SqliteOptions o;
    o.read_only = read_only;
    SqliteStorage st(path, o);
    ADD_FAILURE() << "opened " << path;
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
  EXPECT_EQ(file_bytes(path), before);
}

// Records one complete trial.
void record_one(Storage& st, int64_t study_id, const std::string& worker) {
  const auto t = st.ask(study_id, worker);
  st.set_params(study_id, t.number, test_params(t.number));
  st.tell(study_id, t.number, test_result(t.number));
}

TEST(SqliteStorage, NotADatabaseIsRefusedUnchanged) {
  TempDir dir;
  const auto path = dir.file("notes.db");
  FILE* f = std::fopen(path.c_str(), "w");
  for (int i = 0; i < 200; ++i) std::fputs("this is not a database\n", f);
  std::fclose(f);
  expect_refused(path, ErrorKind::kData, "not an SQLite database");
  expect_refused(path, ErrorKind::kData, "not an SQLite database", /*read_only=*/true);
}

TEST(SqliteStorage, ForeignDatabaseIsRefusedUnchanged) {
  TempDir dir;
  const auto path = dir.file("other.db");
  raw_sql(path, "CREATE TABLE foo (x); INSERT INTO foo VALUES (1)");
  expect_refused(path, ErrorKind::kData, "not an autocompress storage");
}

TEST(SqliteStorage, NewerSchemaIsRefusedUnchanged) {
  TempDir dir;
  const auto path = dir.file("new.db");
  {
    SqliteStorage st(path);
    st.create_study(test_spec());
  }
  raw_sql(path, "UPDATE schema_version SET version = 99");
  expect_refused(path, ErrorKind::kData,
                 "newer autocompress (schema version 99, this binary knows up to " +
                     std::to_string(kSchemaVersion) + ")");
  expect_refused(path, ErrorKind::kData, "schema version 99", true);
}

// Stored versions no build of ours writes (negative, zero, past 32 bits, one that wraps to a known
// version when cut to 32 bits, not an integer) are refused unchanged, never used as an index into
// the migrations (issue 17: -1 and 4294967295 crashed, 4294967298 passed as version 2).
TEST(SqliteStorage, OutOfRangeSchemaVersionsAreRefusedUnchanged) {
  for (const auto& [stored, message] : std::vector<std::pair<std::string, std::string>>{
           {"-1", "schema_version holds -1, not a schema version"},
           {"0", "schema_version holds 0, not a schema version"},
           {"'two'", "schema_version holds text, not a schema version"},
           {"2.5", "schema_version holds real, not a schema version"},
           {"4294967295", "newer autocompress (schema version 4294967295,"},
           {"4294967298", "newer autocompress (schema version 4294967298,"},
           {"9223372036854775807", "newer autocompress (schema version 9223372036854775807,"}}) {
    TempDir dir;
    const auto path = dir.file("v.db");
    {
      SqliteStorage st(path);
      st.create_study(test_spec());
    }
    raw_sql(path, "UPDATE schema_version SET version = " + stored);
    SCOPED_TRACE(stored);
    expect_refused(path, ErrorKind::kData, message);
    expect_refused(path, ErrorKind::kData, message, /*read_only=*/true);
  }
}

// Another application's file that happens to have a schema_version table is not ours: refused
// before anything is written (not even the switch to WAL).
TEST(SqliteStorage, ForeignDatabaseWithASchemaVersionTableIsRefusedUnchanged) {
  TempDir dir;
  const auto path = dir.file("other.db");
  raw_sql(path,
          "CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (1); "
          "CREATE TABLE notes (x)");
  expect_refused(path, ErrorKind::kData, "not an autocompress storage (no studies table)");
  expect_refused(path, ErrorKind::kData, "not an autocompress storage", /*read_only=*/true);
  EXPECT_EQ(raw_sql(path, "PRAGMA journal_mode"), "delete");
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

// Queries on a database in a directory the process cannot write to (SQLite cannot create the
// WAL's -shm file there) read it read-only instead of failing with "attempt to write a readonly
// database". Run as an unprivileged user when the tests run as root (root may write anywhere).
TEST(SqliteStorage, ReadsADatabaseInADirectoryItCannotWrite) {
  TempDir dir;
  const auto sub = dir.file("ro");
  std::filesystem::create_directory(sub);
  const auto path = sub + "/t.db";
  {
    SqliteStorage st(path);
    const auto s = st.create_study(test_spec());
    for (int i = 0; i < 2; ++i) record_one(st, s.id, "w");
  }
  const std::string before = file_bytes(path);
  using std::filesystem::perms;
  std::filesystem::permissions(dir.path(),
                               perms::owner_all | perms::group_exec | perms::others_exec);
  std::filesystem::permissions(
      sub, perms::owner_read | perms::owner_exec | perms::group_exec | perms::others_exec);
  std::filesystem::permissions(path, perms::owner_read | perms::group_read | perms::others_read);
  const pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && setuid(65534) != 0) _exit(3);  // nobody
    try {
      SqliteOptions o;
      o.read_only = true;
      SqliteStorage ro(path, o);
      const auto f = Filter::parse("accuracy > 0");
      _exit(ro.trials(ro.get_study("s").id, &f).size() == 2 ? 0 : 1);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      _exit(2);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::filesystem::permissions(sub, perms::owner_all);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(file_bytes(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
}

TEST(SqliteStorage, MissingFileForReadOnly) {
  TempDir dir;
  SqliteOptions o;
  o.read_only = true;
  EXPECT_THROW(SqliteStorage(dir.file("none.db"), o), StorageError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.db")));
  std::fclose(std::fopen(dir.file("empty.db").c_str(), "w"));
  expect_refused(dir.file("empty.db"), ErrorKind::kData, "empty file", /*read_only=*/true);
}

TEST(SqliteStorage, ReadOnlyQueriesNeverWrite) {
  TempDir dir;
  const auto path = dir.file("t.db");
  {
    SqliteStorage st(path);
    const auto s = st.create_study(test_spec());
    for (int i = 0; i < 3; ++i) record_one(st, s.id, "w");
  }
  const std::string before = file_bytes(path);
  SqliteOptions o;
  o.read_only = true;
  SqliteStorage ro(path, o);
  const auto s = ro.get_study("s");
  EXPECT_EQ(ro.trials(s.id).size(), 3u);
  const auto f = Filter::parse("accuracy > 0.5005");
  EXPECT_EQ(ro.trials(s.id, &f).size(), 2u);
  EXPECT_THROW(ro.get_study("missing"), StorageError);
  EXPECT_THROW(ro.trials(s.id, &(const Filter&)Filter::parse("nope < 1")), StorageError);
  EXPECT_THROW(ro.ask(s.id, "w"), StorageError);
  EXPECT_EQ(file_bytes(path), before);
}

// Every filter within the bounds of kMaxFilterDepth and kMaxFilterTerms runs in SQLite (whose
// parser stack and expression depth the bounds stay under), selecting what matches() selects.
TEST(SqliteStorage, FiltersAtTheBoundsRunInSqlite) {
  TempDir dir;
  SqliteStorage st(dir.file("t.db"));
  const auto s = st.create_study(test_spec());
  for (int i = 0; i < 3; ++i) record_one(st, s.id, "w");
  const int d = kMaxFilterDepth;
  std::string parens = std::string(d, '(') + "accuracy > 0" + std::string(d, ')');
  std::string nots;
  for (int i = 0; i < d; ++i) nots += "not ";
  nots += "accuracy < 0";
  std::string mixed = "accuracy > 0.5001", mixed_not = "accuracy > 0.5001";
  for (int i = 0; i < d; ++i)
    mixed = "(latency_ms > 0 " + std::string(i % 2 ? "or" : "and") + " " + mixed + ")";
  for (int i = 0; i < d / 2; ++i)
    mixed_not = "not (accuracy < 0 " + std::string(i % 2 ? "or" : "and") + " " + mixed_not + ")";
  std::string flat_or = "number = 0", flat_and = "number >= 0";
  for (int i = 1; i < kMaxFilterTerms; ++i) {
    flat_or += " or number = " + std::to_string(i);
    flat_and += " and latency_ms > -" + std::to_string(i);
  }
  std::string wide = "number >= 0";  // all terms spread over all levels
  for (int i = 0; i < d - 1; ++i) {
    std::string level = "(" + wide;
    for (int k = 0; k < kMaxFilterTerms / d - 1; ++k)
      level += (i % 2 ? " or " : " and ") + std::string("latency_ms > -") + std::to_string(k);
    wide = level + ")";
  }
  for (const auto& text : {parens, nots, mixed, mixed_not, flat_or, flat_and, wide}) {
    const Filter f = Filter::parse(text);
    size_t expected = 0;
    for (const auto& t : st.trials(s.id)) {
      const auto cols = flat_columns(s, {"top5", "kl", "macs"});
      expected += f.matches([&](const std::string& name) -> std::optional<double> {
        for (const auto& c : cols)
          if (c.name == name) return column_value(c, t);
        return std::nullopt;
      });
    }
    EXPECT_EQ(st.trials(s.id, &f).size(), expected) << text;
  }
}

// Listings reuse the finished trials they read before (immutable): what another writer does
// meanwhile (a new trial, a RUNNING trial told) still shows, and the listing equals a fresh one.
TEST(SqliteStorage, RepeatedListingsSeeOtherWriters) {
  TempDir dir;
  const auto path = dir.file("t.db");
  SqliteStorage a(path), b(path);
  const Study s = a.create_study(test_spec());
  const auto running = b.ask(s.id, "b");
  for (int i = 0; i < 3; ++i) {
    const auto t = a.ask(s.id, "a");
    a.set_params(s.id, t.number, test_params(t.number));
    a.tell(s.id, t.number, test_result(t.number));
  }
  ASSERT_EQ(a.trials(s.id).size(), 4u);  // read (and the finished ones kept) once
  b.set_params(s.id, running.number, test_params(9));
  b.tell(s.id, running.number, test_result(9));
  b.ask(s.id, "b");
  const auto listed = a.trials(s.id);
  ASSERT_EQ(listed.size(), 5u);
  EXPECT_EQ(listed[0].state, TrialState::kComplete);
  EXPECT_EQ(listed[0].values, test_result(9).values);
  EXPECT_EQ(listed[4].state, TrialState::kRunning);
  SqliteStorage fresh(path);
  const auto again = fresh.trials(s.id);
  ASSERT_EQ(again.size(), listed.size());
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(listed[i].params, again[i].params) << i;
    EXPECT_EQ(listed[i].values, again[i].values) << i;
    EXPECT_EQ(listed[i].metrics, again[i].metrics) << i;
    EXPECT_EQ(listed[i].user_attrs, again[i].user_attrs) << i;
    EXPECT_EQ(listed[i].constraints, again[i].constraints) << i;
  }
}

TEST(SqliteStorage, ReadOnlyReaderDoesNotBlockAWriter) {
  TempDir dir;
  const auto path = dir.file("t.db");
  SqliteStorage rw(path);
  const auto s = rw.create_study(test_spec());
  record_one(rw, s.id, "w");
  SqliteOptions o;
  o.read_only = true;
  SqliteStorage ro(path, o);
  EXPECT_EQ(ro.trials(s.id).size(), 1u);
  record_one(rw, s.id, "w");
  EXPECT_EQ(ro.trials(s.id).size(), 2u);
}

TEST(SqliteStorage, TrialsFlatViewHasObjectivesAndMetricsAsColumns) {
  TempDir dir;
  const auto path = dir.file("t.db");
  {
    SqliteStorage st(path);
    const auto s = st.create_study(test_spec());
    for (int i = 0; i < 3; ++i) record_one(st, s.id, "w");
    auto spec2 = test_spec("other");
    spec2.objectives = {{"energy_mj", Direction::kMinimize}};
    spec2.reference_point = {10.0};
    const auto s2 = st.create_study(spec2);
    const auto t = st.ask(s2.id, "w");
    st.tell(s2.id, t.number, {TrialState::kComplete, {3.5}, {{"params_m", 1.25}}, {}, "", {}});
  }
  EXPECT_EQ(raw_sql(path,
                    "SELECT accuracy || ',' || latency_ms || ',' || kl || ',' || "
                    "accuracy_drop || ',' || state FROM trials_flat "
                    "WHERE study = 's' AND number = 2"),
            "0.502,2.0,0.02,0.008,COMPLETE");
  EXPECT_EQ(raw_sql(path,
                    "SELECT energy_mj || ',' || params_m || ',' || (accuracy IS NULL) "
                    "FROM trials_flat WHERE study = 'other'"),
            "3.5,1.25,1");
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM trials_flat"), "4");
  EXPECT_EQ(raw_sql(path, "PRAGMA journal_mode"), "wal");
}

// A file written by schema version 1 (kept as it is: later versions must open or migrate it).
// Study 'cnn': trials 0-7 finished (6 FAIL), trial 8 left RUNNING by a worker long gone.
TEST(SqliteStorage, OpensTheSchemaV1Fixture) {
  TempDir dir;
  const auto path = dir.file("v1.db");
  std::filesystem::copy_file(std::string(AC_SOURCE_DIR) + "/tests/storage/fixtures/schema_v1.db",
                             path);
  std::vector<FrozenTrial> before;
  {  // read-only: read as it is (columns added since read as their defaults), never upgraded
    SqliteOptions o;
    o.read_only = true;
    SqliteStorage ro(path, o);
    const auto s = ro.get_study("cnn");
    EXPECT_EQ(s.objectives, test_spec().objectives);
    const auto all = ro.trials(s.id);
    ASSERT_EQ(all.size(), 9u);
    EXPECT_EQ(all[3].values, test_result(3).values);
    EXPECT_EQ(all[6].error, "oneDNN: out of memory");
    EXPECT_EQ(all[8].state, TrialState::kRunning);
    before = all;
  }
  EXPECT_EQ(raw_sql(path, "SELECT version FROM schema_version"), "1");
  SqliteStorage st(path);  // upgraded to the current schema; the stale RUNNING trial is failed
  EXPECT_EQ(raw_sql(path, "SELECT version FROM schema_version"), std::to_string(kSchemaVersion));
  const auto s = st.get_study("cnn");
  const auto after = st.trials(s.id);
  ASSERT_EQ(after.size(), 10u);     // the 9 recorded, and trial 8's re-queued copy
  for (size_t i = 0; i < 8; ++i) {  // nothing recorded is lost or changed by the migration
    EXPECT_EQ(after[i].state, before[i].state) << i;
    EXPECT_EQ(after[i].params, before[i].params) << i;
    EXPECT_EQ(after[i].values, before[i].values) << i;
    EXPECT_EQ(after[i].error, before[i].error) << i;
    EXPECT_EQ(after[i].metrics, before[i].metrics) << i;
    EXPECT_EQ(after[i].user_attrs, before[i].user_attrs) << i;
    EXPECT_EQ(after[i].finished_at, before[i].finished_at) << i;
    EXPECT_EQ(after[i].lease_until, 0) << i;
  }
  EXPECT_EQ(st.find_trial(s.id, 8)->state, TrialState::kFail);
  EXPECT_TRUE(failed_as_stale(*st.find_trial(s.id, 8)));
  const auto t = st.ask(s.id, "w");
  EXPECT_EQ(t.number, 9);
  EXPECT_EQ(t.requeued_from, std::optional<int64_t>(8));
  st.lease(s.id, t.number, 3600);  // the new column works on the upgraded file
  EXPECT_GT(st.find_trial(s.id, t.number)->lease_until, t.started_at + 3000);
  EXPECT_EQ(raw_sql(path, "PRAGMA integrity_check"), "ok");
}

// ------------------------------------------------------------------ many processes

// Forks `n` children running `body(k)`; returns their exit statuses.
template <class F>
std::vector<int> run_children(int n, F body) {
  std::vector<pid_t> pids;
  for (int k = 0; k < n; ++k) {
    const pid_t pid = fork();
    if (pid == 0) {
      int code = 0;
      try {
        body(k);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", k, e.what());
        code = 1;
      }
      _exit(code);
    }
    pids.push_back(pid);
  }
  std::vector<int> statuses;
  for (pid_t p : pids) {
    int status = 0;
    waitpid(p, &status, 0);
    statuses.push_back(status);
  }
  return statuses;
}

TEST(SqliteStorage, FourProcessesRecord400TrialsConcurrently) {
  TempDir dir;
  const auto path = dir.file("shared.db");
  const auto statuses = run_children(4, [&](int k) {
    SqliteStorage st(path);
    const auto s = st.create_study(test_spec(), /*load_if_exists=*/true);
    for (int i = 0; i < 100; ++i) record_one(st, s.id, "worker-" + std::to_string(k));
  });
  for (int status : statuses) EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  SqliteStorage st(path);
  const auto s = st.get_study("s");
  const auto all = st.trials(s.id);
  ASSERT_EQ(all.size(), 400u);
  std::set<std::string> workers;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].number, int64_t(i));
    EXPECT_EQ(all[i].state, TrialState::kComplete);
    EXPECT_EQ(all[i].values, test_result(int64_t(i)).values);
    workers.insert(all[i].worker);
  }
  EXPECT_EQ(workers.size(), 4u);
  EXPECT_EQ(st.studies().size(), 1u);
  EXPECT_EQ(raw_sql(path, "PRAGMA integrity_check"), "ok");
}

// ------------------------------------------------------------------ crashes

// After a crash: reopen with grace 0 (the killed worker's trial is stale), check every COMPLETE
// trial against the deterministic result, and the database's integrity.
void check_after_crash(const std::string& path, int64_t killed, TrialState expect_killed) {
  SqliteOptions o;
  o.stale_grace_s = 0;
  SqliteStorage st(path, o);
  const auto s = st.get_study("s");
  for (const auto& t : st.trials(s.id)) {
    EXPECT_NE(t.state, TrialState::kRunning) << "zombie trial " << t.number;
    if (t.state == TrialState::kComplete) {
      EXPECT_EQ(t.values, test_result(t.number).values) << t.number;
      EXPECT_EQ(t.metrics, test_result(t.number).metrics) << t.number;
      EXPECT_EQ(t.constraints, test_result(t.number).constraints) << t.number;
      EXPECT_EQ(t.params.size(), 3u) << t.number;
    }
  }
  const auto k = st.find_trial(s.id, killed);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->state, expect_killed) << "trial " << killed;
  if (expect_killed == TrialState::kFail) {
    EXPECT_NE(k->error.find("heartbeat"), std::string::npos) << k->error;
  }
  EXPECT_EQ(raw_sql(path, "PRAGMA integrity_check"), "ok");
}

// A worker that records one trial, then another whose tell is killed by the fail-point after its
// `n`-th statement (n = 0: killed mid-trial, between set_params and tell). Returns the killed
// trial's number, sent up a pipe before the kill.
int64_t crashing_worker(const std::string& path, int64_t n, bool first_tell = false) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const auto statuses = run_children(1, [&](int) {
    close(fds[0]);
    int64_t kill_at = -1;
    SqliteOptions o;
    o.after_statement = [&](int64_t k) {
      if (k == kill_at) raise(SIGKILL);
    };
    SqliteStorage st(path, o);
    const auto s = st.create_study(test_spec(), true);
    if (!first_tell) record_one(st, s.id, "steady");
    const auto t = st.ask(s.id, "doomed");
    if (write(fds[1], &t.number, sizeof t.number) != sizeof t.number) _exit(3);
    st.set_params(s.id, t.number, test_params(t.number));
    if (n == 0) raise(SIGKILL);
    kill_at = st.statements_executed() + n;
    st.tell(s.id, t.number, test_result(t.number));
    _exit(4);  // reached only if the fail-point lies past the transaction
  });
  close(fds[1]);
  int64_t killed = -1;
  EXPECT_EQ(read(fds[0], &killed, sizeof killed), ssize_t(sizeof killed));
  close(fds[0]);
  EXPECT_TRUE(WIFSIGNALED(statuses[0]) && WTERMSIG(statuses[0]) == SIGKILL)
      << "n=" << n << " status " << statuses[0];
  return killed;
}

// The number of statements of a steady-state tell, counted on a scratch file.
int64_t statements_per_tell() {
  TempDir dir;
  SqliteStorage st(dir.file("count.db"));
  const auto s = st.create_study(test_spec());
  record_one(st, s.id, "w");
  const auto t = st.ask(s.id, "w");
  st.set_params(s.id, t.number, test_params(t.number));
  const int64_t before = st.statements_executed();
  st.tell(s.id, t.number, test_result(t.number));
  return st.statements_executed() - before;
}

TEST(SqliteStorage, KillAtEveryStatementOfATellLosesNothing) {
  const int64_t per_tell = statements_per_tell();
  ASSERT_GE(per_tell, 8);  // BEGIN, lookup, 2 values, 3 metrics, 1 constraint, update, COMMIT
  TempDir dir;
  const auto path = dir.file("crash.db");
  for (int64_t n = 1; n <= per_tell; ++n) {
    SCOPED_TRACE("killed after statement " + std::to_string(n) + " of " + std::to_string(per_tell));
    const int64_t killed = crashing_worker(path, n);
    // Killed before COMMIT finished: the trial never happened and becomes FAIL on restart.
    check_after_crash(path, killed, n < per_tell ? TrialState::kFail : TrialState::kComplete);
  }
  SqliteStorage st(path);
  const auto s = st.get_study("s");
  record_one(st, s.id, "after");  // work continues
  int complete = 0, fail = 0;
  for (const auto& t : st.trials(s.id)) {
    complete += t.state == TrialState::kComplete;
    fail += t.state == TrialState::kFail;
  }
  // Every "steady" trial, the trial killed after COMMIT and the last one are COMPLETE.
  EXPECT_EQ(complete, per_tell + 2);
  EXPECT_EQ(fail, per_tell - 1);
}

// AC_STORAGE_KILL_AFTER=N (the fail-point from the environment) at every statement of the
// first open of a new file (WAL switch, schema, view): the next open still succeeds.
TEST(SqliteStorage, KillDuringCreationLeavesAUsableFile) {
  TempDir dir;
  int64_t per_open = 0;
  {
    SqliteStorage st(dir.file("count.db"));
    per_open = st.statements_executed();
  }
  ASSERT_GE(per_open, 5);
  for (int64_t n = 1; n <= per_open; ++n) {
    SCOPED_TRACE("killed after statement " + std::to_string(n));
    const auto path = dir.file("new" + std::to_string(n) + ".db");
    const auto statuses = run_children(1, [&](int) {
      setenv("AC_STORAGE_KILL_AFTER", std::to_string(n).c_str(), 1);
      SqliteStorage st(path);
      _exit(4);
    });
    EXPECT_TRUE(WIFSIGNALED(statuses[0]) && WTERMSIG(statuses[0]) == SIGKILL) << statuses[0];
    SqliteStorage st(path);
    const auto s = st.create_study(test_spec());
    record_one(st, s.id, "w");
    EXPECT_EQ(st.trials(s.id).size(), 1u);
    EXPECT_EQ(raw_sql(path, "PRAGMA integrity_check"), "ok");
  }
}

// The first tell of a study also records its metric names and re-creates trials_flat (DDL inside
// the transaction): killed after each of its statements, a restart finds the old view or the new
// one, never a half.
TEST(SqliteStorage, KillAtEveryStatementOfTheFirstTell) {
  TempDir dir;
  int64_t per_tell = 0;
  {
    SqliteStorage st(dir.file("count.db"));
    const auto s = st.create_study(test_spec());
    const auto t = st.ask(s.id, "w");
    st.set_params(s.id, t.number, test_params(t.number));
    const int64_t before = st.statements_executed();
    st.tell(s.id, t.number, test_result(t.number));
    per_tell = st.statements_executed() - before;
  }
  for (int64_t n = 1; n <= per_tell; ++n) {
    SCOPED_TRACE("killed after statement " + std::to_string(n) + " of " + std::to_string(per_tell));
    const auto path = dir.file("first" + std::to_string(n) + ".db");
    const int64_t killed = crashing_worker(path, n, /*first_tell=*/true);
    check_after_crash(path, killed, n < per_tell ? TrialState::kFail : TrialState::kComplete);
    EXPECT_EQ(
        raw_sql(path, "SELECT count(*) FROM pragma_table_info('trials_flat') WHERE name = 'kl'"),
        n < per_tell ? "0" : "1");
  }
}

TEST(SqliteStorage, KillMidTrialLeavesNoZombie) {
  TempDir dir;
  const auto path = dir.file("crash.db");
  const int64_t killed = crashing_worker(path, 0);
  check_after_crash(path, killed, TrialState::kFail);
  SqliteStorage st(path);
  const auto s = st.get_study("s");
  const auto again = st.ask(s.id, "w");  // the re-queued trial, with the killed trial's recipe
  EXPECT_EQ(again.requeued_from, std::optional<int64_t>(killed));
  EXPECT_EQ(again.params.size(), 3u);
}

}  // namespace
}  // namespace autocompress
