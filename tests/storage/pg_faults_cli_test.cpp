// Many `autocompress search` processes on one study on a real PostgreSQL server, as many machines
// would run the same command, and the faults they must survive: K = 8 workers at once (dense
// numbering, no candidate twice, no lock or serialization errors, the study's budget kept);
// workers killed with SIGKILL at random moments (no completed trial lost, their trials failed as
// stale and re-queued once, then finished by the next run); the server restarted in the middle of
// a search (the workers reconnect and finish, nothing committed lost, nothing duplicated); a
// worker partitioned past the grace (its trial failed as stale and re-queued, its late tell
// refused, the worker going on).
// The searches are the embedded example on a few images of Fashion-MNIST's test split (its
// smallest file: a process starts in about a second).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "storage/open_storage.hpp"
#include "storage/pg_storage.hpp"
#include "tests/storage/pg_test_server.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

using storage_testing::file_bytes;
using storage_testing::first_line;
using storage_testing::PgTestDatabase;
using storage_testing::TempDir;

// The command every worker runs (one thread, one candidate at a time).
std::string search_command(const std::string& db, const std::string& study, int trials) {
  return std::string(AC_CLI) + " search --trials " + std::to_string(trials) +
         " --limit 200 --calib-limit 100 --split test --calib-split test"
         " --latency-model roofline --workers 1 --study " +
         study + " --db '" + db + "'";
}

// A worker process running `cmd` (through the shell's exec: the pid is the search's own), its
// output to `out`.
struct Worker {
  pid_t pid = -1;
  std::string out;
  bool killed = false;
};

Worker start_worker(const std::string& cmd, const std::string& out) {
  Worker w;
  w.out = out;
  const std::string line = "exec " + cmd + " >'" + out + "' 2>&1";
  w.pid = fork();
  if (w.pid == 0) {
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return w;
}

// Waits for the worker; its exit code, or 128 + signal.
int wait_worker(const Worker& w) {
  int status = 0;
  if (waitpid(w.pid, &status, 0) != w.pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits for every worker; checks that those not killed exited 0 and printed no trouble.
void wait_all(std::vector<Worker>& ws) {
  for (auto& w : ws) {
    const int rc = wait_worker(w);
    if (w.killed) continue;
    std::string log = file_bytes(w.out);
    EXPECT_EQ(rc, 0) << w.out << ":\n" << log;
    std::transform(log.begin(), log.end(), log.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    for (const char* word : {"lock", "serialization", "deadlock", "error", "not recorded"})
      EXPECT_EQ(log.find(word), std::string::npos) << word << " in " << w.out << ":\n"
                                                   << file_bytes(w.out);
  }
}

std::vector<FrozenTrial> study_trials(const std::string& db, const std::string& study) {
  const auto st = open_storage(db, {.read_only = true});
  return st->trials(st->get_study(study).id);
}

std::string params_key(const FrozenTrial& t) {
  std::string key;
  for (const auto& p : t.params) {
    key += p.name + "=";
    if (const double* d = std::get_if<double>(&p.value)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      key += buf;
    } else {
      key += std::get<std::string>(p.value);
    }
    key += ";";
  }
  return key;
}

std::set<int64_t> complete_numbers(const std::vector<FrozenTrial>& trials) {
  std::set<int64_t> out;
  for (const auto& t : trials)
    if (t.state == TrialState::kComplete) out.insert(t.number);
  return out;
}

int64_t count_finished(const std::vector<FrozenTrial>& trials) {
  return std::count_if(trials.begin(), trials.end(), [](const FrozenTrial& t) {
    return t.state != TrialState::kRunning && t.state != TrialState::kWaiting;
  });
}

// Dense numbering, nothing RUNNING or WAITING, no candidate twice except a re-queued trial
// repeating the stale one it replaces (exactly one per stale trial).
void check_study(const std::vector<FrozenTrial>& trials) {
  std::map<std::string, int64_t> by_params;
  std::map<int64_t, int> requeues;
  for (size_t i = 0; i < trials.size(); ++i) {
    const FrozenTrial& t = trials[i];
    EXPECT_EQ(t.number, int64_t(i));
    EXPECT_NE(t.state, TrialState::kRunning) << "trial " << t.number << " of " << t.worker;
    EXPECT_NE(t.state, TrialState::kWaiting) << "trial " << t.number;
    const bool stale = t.state == TrialState::kFail && failed_as_stale(t);
    EXPECT_TRUE(stale || !t.params.empty()) << "trial " << t.number;  // killed before set_params
    if (t.requeued_from) ++requeues[*t.requeued_from];
    const std::string key = params_key(t);
    auto [it, fresh] = by_params.emplace(key, t.number);
    if (fresh) continue;
    // A repeat is allowed only as the re-queue of a stale trial (possibly of a re-queue).
    int64_t origin = t.number;
    while (trials[size_t(origin)].requeued_from) origin = *trials[size_t(origin)].requeued_from;
    int64_t first = it->second;
    while (trials[size_t(first)].requeued_from) first = *trials[size_t(first)].requeued_from;
    EXPECT_EQ(origin, first) << "trials " << it->second << " and " << t.number
                             << " have the same candidate " << key;
  }
  for (const FrozenTrial& t : trials) {
    const bool stale = t.state == TrialState::kFail && failed_as_stale(t);
    EXPECT_EQ(requeues[t.number], stale ? 1 : 0)
        << "trial " << t.number << " (" << to_string(t.state) << ", " << t.error << ")";
  }
}

// The number of COMPLETE trials of the study, 0 before it exists.
size_t complete_count(const std::string& db, const std::string& study) {
  try {
    return complete_numbers(study_trials(db, study)).size();
  } catch (const std::exception&) {  // the study does not exist yet
    return 0;
  }
}

// Polls the study until it has `n` COMPLETE trials (or 60 s pass).
void wait_for_complete(const std::string& db, const std::string& study, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (complete_count(db, study) < n) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "study " << study << " never reached " << n << " complete trials";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST(PgFaultsCli, EightWorkersOnOneStudy) {
  PgTestDatabase db;
  if (!db.ok()) GTEST_SKIP() << db.skip_reason();
  TempDir dir;
  constexpr int kWorkers = 8, kTrials = 24;
  std::vector<Worker> ws;
  for (int i = 0; i < kWorkers; ++i)
    ws.push_back(start_worker(search_command(db.uri(), "eight", kTrials),
                              dir.file(std::to_string(i) + ".out")));
  wait_all(ws);

  const auto trials = study_trials(db.uri(), "eight");
  check_study(trials);
  const int64_t finished = count_finished(trials);
  EXPECT_GE(finished, kTrials);
  EXPECT_LE(finished, kTrials + kWorkers - 1) << "the budget is the study's, not each worker's";
  std::set<std::string> workers;
  for (const auto& t : trials) workers.insert(t.worker);
  EXPECT_GE(workers.size(), 2u) << "the workers did not share the study";
}

TEST(PgFaultsCli, KilledWorkersLoseNothingAndTheirTrialsAreRequeuedOnce) {
  PgTestDatabase db;
  if (!db.ok()) GTEST_SKIP() << db.skip_reason();
  TempDir dir;
  std::mt19937 rng(std::random_device{}());
  constexpr int kWorkers = 3, kPerRound = 8;
  int trials_budget = 0;
  std::set<int64_t> killed_trials;
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    trials_budget += kPerRound;
    std::vector<Worker> ws;
    for (int i = 0; i < kWorkers; ++i)
      ws.push_back(
          start_worker(search_command(db.uri(), "kill", trials_budget),
                       dir.file("r" + std::to_string(round) + "_" + std::to_string(i) + ".out")));
    // A random moment once the round's workers are evaluating.
    wait_for_complete(db.uri(), "kill", complete_count(db.uri(), "kill") + 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 600));
    const std::set<int64_t> before = complete_numbers(study_trials(db.uri(), "kill"));
    const int victims = 1 + int(rng() % 2);
    for (int v = 0; v < victims; ++v) {
      Worker& w = ws[size_t(v) + rng() % size_t(kWorkers - v)];
      if (w.killed) continue;
      ASSERT_EQ(kill(w.pid, SIGKILL), 0);
      w.killed = true;
    }
    wait_all(ws);  // the others reach the budget

    // Every worker gone: with a grace of 0 the killed workers' trials are stale now (a worker
    // does the same on open and in ask once the grace, 120 s by default, has passed).
    auto trials = study_trials(db.uri(), "kill");
    const std::set<int64_t> after = complete_numbers(trials);
    EXPECT_TRUE(std::includes(after.begin(), after.end(), before.begin(), before.end()))
        << "a completed trial was lost";
    std::set<int64_t> running;
    for (const auto& t : trials)
      if (t.state == TrialState::kRunning) running.insert(t.number);
    PgOptions o;
    o.stale_grace_s = 0;
    { PgStorage sweeper(db.uri(), o); }
    trials = study_trials(db.uri(), "kill");
    for (int64_t n : running) {
      EXPECT_EQ(trials[size_t(n)].state, TrialState::kFail) << "trial " << n;
      EXPECT_TRUE(failed_as_stale(trials[size_t(n)])) << trials[size_t(n)].error;
      killed_trials.insert(n);
    }
    int64_t waiting = 0;
    for (const auto& t : trials) {
      EXPECT_NE(t.state, TrialState::kRunning) << "trial " << t.number;
      waiting += t.state == TrialState::kWaiting;
    }
    EXPECT_EQ(waiting, int64_t(running.size())) << "each killed trial re-queued once";
  }

  // The same command again, nobody killed: the re-queued trials are finished, nothing is lost.
  // The budget counts finished trials (the stale failures too), so it must leave room for every
  // waiting re-queue (up to two per round) and one new trial.
  const auto pending = study_trials(db.uri(), "kill");
  const std::set<int64_t> before = complete_numbers(pending);
  const int64_t final_budget = count_finished(pending) + int64_t(killed_trials.size()) + 1;
  std::vector<Worker> ws = {
      start_worker(search_command(db.uri(), "kill", int(final_budget)), dir.file("last.out"))};
  wait_all(ws);
  const auto trials = study_trials(db.uri(), "kill");
  const std::set<int64_t> after = complete_numbers(trials);
  EXPECT_TRUE(std::includes(after.begin(), after.end(), before.begin(), before.end()));
  check_study(trials);
  for (int64_t n : killed_trials) {
    int64_t repeats = 0;
    for (const auto& t : trials)
      if (t.requeued_from == n) {
        ++repeats;  // finished, or killed in turn (and re-queued: check_study)
        EXPECT_TRUE(t.state == TrialState::kComplete || failed_as_stale(t))
            << "re-queue " << t.number << " of " << n << ": " << to_string(t.state);
      }
    EXPECT_EQ(repeats, 1) << "killed trial " << n;
  }
  EXPECT_GE(count_finished(trials), final_budget);
}

// A RUNNING trial of the study whose params are committed (the worker is evaluating it, or
// telling it in a transaction not yet committed), or nullopt.
std::optional<int64_t> trial_in_evaluation(const std::string& db, const std::string& study) {
  try {
    for (const auto& t : study_trials(db, study))
      if (t.state == TrialState::kRunning && !t.params.empty()) return t.number;
  } catch (const std::exception&) {  // the study does not exist yet
  }
  return std::nullopt;
}

// A worker cut off from the server for longer than the grace (paused with SIGSTOP: no heartbeat,
// no statement, as behind a dropped link): another process's stale check fails its trial and
// re-queues it; when the worker comes back, its late tell is refused with tell's message
// ("trial N is FAIL; only RUNNING trials can change"), the trial is reported as not recorded, and
// the worker goes on (it takes the re-queued trial first) and exits 0 at the study's budget.
TEST(PgFaultsCli, APartitionedWorkersLateTellIsRefusedAndItGoesOn) {
  PgTestDatabase db;
  if (!db.ok()) GTEST_SKIP() << db.skip_reason();
  TempDir dir;
  constexpr int kTrials = 6;
  constexpr double kGrace = 1;  // the sweeper's: every worker's default is 120 s
  Worker w = start_worker(search_command(db.uri(), "partition", kTrials), dir.file("w.out"));
  std::optional<int64_t> cut;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!cut && std::chrono::steady_clock::now() < deadline) {
    if (!trial_in_evaluation(db.uri(), "partition")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    ASSERT_EQ(kill(w.pid, SIGSTOP), 0);
    // Read once it is paused: a trial still RUNNING with params is being evaluated (or its tell
    // holds the row, which the stale check skips: then try again).
    const auto n = trial_in_evaluation(db.uri(), "partition");
    if (n && *n < kTrials - 2) {
      std::this_thread::sleep_for(std::chrono::duration<double>(kGrace + 0.5));
      PgOptions o;
      o.stale_grace_s = kGrace;
      PgStorage other(db.uri(), o);  // another worker opening the study: its stale check
      const auto t = study_trials(db.uri(), "partition");
      if (t[size_t(*n)].state == TrialState::kFail) cut = n;
    }
    ASSERT_EQ(kill(w.pid, SIGCONT), 0);
    if (!cut) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (n && *n >= kTrials - 2) break;
  }
  ASSERT_TRUE(cut) << "never caught the worker evaluating a trial early enough";
  const int rc = wait_worker(w);
  const std::string log = file_bytes(w.out);
  EXPECT_EQ(rc, 0) << log;
  const std::string n = std::to_string(*cut);
  EXPECT_NE(log.find("trial " + n + " not recorded: "), std::string::npos) << log;
  EXPECT_NE(log.find("trial " + n + " is FAIL; only RUNNING trials can change"), std::string::npos)
      << log;

  const auto trials = study_trials(db.uri(), "partition");
  EXPECT_TRUE(failed_as_stale(trials[size_t(*cut)])) << trials[size_t(*cut)].error;
  EXPECT_TRUE(trials[size_t(*cut)].values.empty()) << "the late result was not recorded";
  check_study(trials);  // re-queued once, finished, nothing left RUNNING
  int64_t requeued_done = 0;
  for (const auto& t : trials)
    requeued_done += t.requeued_from == *cut && t.state == TrialState::kComplete;
  EXPECT_EQ(requeued_done, 1) << "the re-queued trial was not finished";
  EXPECT_GE(count_finished(trials), kTrials);
}

// A server of this test alone (the fixture's is shared with tests running meanwhile), restarted
// with tests/storage/pg_server.sh restart.
class PrivateServer {
 public:
  PrivateServer() : state_(dir_.file("server")) {
    if (std::system(script("start").c_str()) == 0) uri_ = first_line(state_ + "/uri");
  }
  ~PrivateServer() { (void)std::system(script("stop").c_str()); }
  const std::string& uri() const { return uri_; }
  bool restart() const { return std::system(script("restart").c_str()) == 0; }

 private:
  std::string script(const std::string& cmd) const {
    return std::string("bash ") + AC_SOURCE_DIR + "/tests/storage/pg_server.sh " + cmd + " " +
           state_ + " >/dev/null";
  }
  TempDir dir_{"ac_pg_private"};
  std::string state_, uri_;
};

TEST(PgFaultsCli, WorkersGoOnThroughAServerRestart) {
  std::string skip;
  if (!storage_testing::pg_admin_uri(&skip)) GTEST_SKIP() << skip;
  PrivateServer server;
  ASSERT_FALSE(server.uri().empty()) << "the private PostgreSQL server did not start";
  TempDir dir;
  constexpr int kWorkers = 2, kTrials = 14;
  std::vector<Worker> ws;
  for (int i = 0; i < kWorkers; ++i)
    ws.push_back(start_worker(search_command(server.uri(), "restart", kTrials),
                              dir.file(std::to_string(i) + ".out")));
  // Every worker connected (a worker that cannot connect at its start fails at once: an
  // unreachable server is an error), and some trials recorded.
  wait_for_complete(server.uri(), "restart", 3);
  for (int i = 0; i < 600; ++i) {
    std::set<std::string> workers;
    for (const auto& t : study_trials(server.uri(), "restart")) workers.insert(t.worker);
    if (workers.size() == size_t(kWorkers)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::set<int64_t> before = complete_numbers(study_trials(server.uri(), "restart"));
  ASSERT_TRUE(server.restart());
  wait_all(ws);

  const auto trials = study_trials(server.uri(), "restart");
  const std::set<int64_t> after = complete_numbers(trials);
  EXPECT_TRUE(std::includes(after.begin(), after.end(), before.begin(), before.end()))
      << "a committed trial was lost";
  check_study(trials);
  const int64_t finished = count_finished(trials);
  EXPECT_GE(finished, kTrials);
  EXPECT_LE(finished, kTrials + kWorkers - 1);
  EXPECT_GT(*after.rbegin(), *before.rbegin()) << "nothing was recorded after the restart";
}

}  // namespace
}  // namespace autocompress
