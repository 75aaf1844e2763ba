// Storage of studies and trials: the interface every backend implements (InMemoryStorage,
// SqliteStorage, PgStorage) and the one conformance suite (tests/storage/conformance_test.cpp)
// checks. open_storage (storage/open_storage.hpp) picks the backend of a --db value.
//
// Contract
// - Thread safety: every method may be called from several threads of one process at once;
//   a backend serializes them internally. SqliteStorage is also safe across processes that share
//   the database file, PgStorage across processes on any machines that reach the server; each
//   process opens its own (one connection each; never share one across fork()).
// - Snapshots: everything returned (Study, FrozenTrial, vectors of them) is a value. Later writes,
//   by this or any other writer, never change a snapshot already returned.
// - Finished trials (COMPLETE, PRUNED, FAIL) are immutable: set_params, heartbeat and tell on them
//   throw StorageError(kData) and change nothing.
// - Atomicity: each write method is all-or-nothing (one transaction; a transient failure, such as
//   a busy SQLite file, a PostgreSQL serialization failure or a dropped connection, retries the
//   whole transaction with bounded backoff, then throws StorageError(kRuntime)). A trial's result
//   (state, values, metrics, constraints, attributes) appears entirely or not at all, also when the
//   process is killed.
// - ask() reserves the next trial: the lowest-numbered WAITING trial if there is one (its params
//   come with it), else a new trial whose number is one more than the study's largest. Numbers
//   are dense and unique per study, also with many concurrent workers.
// - Stale trials: a RUNNING trial whose heartbeat is older than the backend's grace, and whose
//   lease (if any) has ended, is marked FAIL with a reason starting "stale: ", and, unless it was
//   itself a re-queue, re-queued once as a new WAITING trial with the same params. SqliteStorage
//   and PgStorage do this on open and periodically in ask(). Several workers claiming WAITING
//   trials at once each get a different one (PostgreSQL: FOR UPDATE SKIP LOCKED).
// - Leases: a trial evaluated outside any worker process (`autocompress ask`, then the user's
//   hours of fine-tuning or device measurement, then `tell`) has nobody sending heartbeats; a
//   lease keeps it RUNNING until its deadline instead. Its heartbeat still counts as well.
// - Errors: unknown study names and bad filters throw StorageError(kUsage) naming what is known.
//   Messages name the file or the server and database, never a password.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace autocompress {

class Filter;

class Storage {
 public:
  virtual ~Storage() = default;

  // Creates a study. Throws StorageError(kUsage) if the name exists, unless load_if_exists and
  // the existing study has the same objectives: then returns it. The check and the insert are one
  // transaction, so concurrent workers may all call this with the same spec.
  virtual Study create_study(const StudySpec& spec, bool load_if_exists = false) = 0;
  virtual std::vector<Study> studies() const = 0;
  virtual std::optional<Study> find_study(const std::string& name) const = 0;
  // Like find_study, but throws StorageError(kUsage) listing the known study names.
  Study get_study(const std::string& name) const;
  virtual void set_study_user_attr(int64_t study_id, const std::string& key,
                                   const std::string& value) = 0;
  // Metric names ever told in this study, sorted.
  virtual std::vector<std::string> metric_names(int64_t study_id) const = 0;

  // Reserves the next trial for `worker` (RUNNING, heartbeat now). See the contract above.
  virtual FrozenTrial ask(int64_t study_id, const std::string& worker) = 0;
  // Records the recipe of a RUNNING trial (replaces earlier params of that trial).
  virtual void set_params(int64_t study_id, int64_t number, const std::vector<Param>& params) = 0;
  // Refreshes the heartbeat of a RUNNING trial.
  virtual void heartbeat(int64_t study_id, int64_t number) = 0;
  // Refreshes the heartbeat of a RUNNING trial and sets its lease to end `seconds` from now
  // (replacing an earlier deadline, also a later one); seconds <= 0 removes the lease.
  virtual void lease(int64_t study_id, int64_t number, double seconds) = 0;
  // Finishes a RUNNING trial with its result. values.size() must equal the objective count for
  // COMPLETE; constraints empty or one per study constraint; else StorageError(kUsage).
  virtual void tell(int64_t study_id, int64_t number, const TrialResult& result) = 0;
  // Marks RUNNING trials with heartbeat older than `grace_seconds` and no running lease FAIL and
  // re-queues them once. Returns how many were marked.
  virtual int fail_stale_trials(double grace_seconds) = 0;

  virtual std::optional<FrozenTrial> find_trial(int64_t study_id, int64_t number) const = 0;
  // Trials of a study in number order; with `where`, only those for which it is true (names not
  // among the study's flat columns throw StorageError(kUsage) listing them).
  virtual std::vector<FrozenTrial> trials(int64_t study_id,
                                          const Filter* where = nullptr) const = 0;
  // Trials numbered `from` or more and those numbered in `also`, in number order: what a reader
  // that has seen every trial below `from` must read again. Finished trials never change, so it
  // passes the numbers it saw RUNNING or WAITING as `also` (the study loop's incremental view,
  // search/study/study_cache.hpp, reads only these per trial instead of the whole study).
  virtual std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t from,
                                                std::span<const int64_t> also = {}) const = 0;
};

// Unix time in seconds (wall clock: heartbeats are compared across processes).
double unix_now();
// "2026-11-24 14:20:45Z" (UTC, whole seconds); "-" for 0 (not yet).
std::string utc_time(double unix_seconds);

// The FAIL reason fail_stale_trials records for `t` (whose lease_until and worker it reads), and
// whether a finished trial was failed that way (also by older versions, which wrote no prefix).
std::string stale_reason(const FrozenTrial& t, double grace_seconds);
bool failed_as_stale(const FrozenTrial& t);

}  // namespace autocompress
