// Trials in an SQLite storage file: ask (a WAITING trial or a new one), parameters, heartbeats,
// leases, tell, stale RUNNING trials failed and re-queued once, and listings (all trials, one
// number, a filter, or those Storage::trials_since selects). Listings copy the finished trials
// read before (FinishedTrialCache).
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/filter.hpp"
#include "storage/schema.hpp"
#include "storage/sqlite_connection.hpp"
#include "storage/trial_cache.hpp"

namespace autocompress {

class SqliteTrials {
 public:
  explicit SqliteTrials(SqliteConnection& c) : c_(c) {}

  int version = kSchemaVersion;  // of the open file (a read-only open may see an older one)

  // In their own transactions:
  int fail_stale(double grace);
  FrozenTrial ask(int64_t study_id, const std::string& worker);
  void tell(int64_t study_id, int64_t number, const TrialResult& r);

  // Inside the caller's write transaction: `t` as given, under its number (copy-study).
  void import(int64_t study_id, const FrozenTrial& t);

  // Inside the caller's transaction (the trial must be RUNNING: StorageError otherwise):
  void set_params(int64_t study_id, int64_t number, const std::vector<Param>& params);
  void heartbeat(int64_t study_id, int64_t number);
  void lease(int64_t study_id, int64_t number, double seconds);

  // Trials numbered `from` or more and those numbered in `also` (Storage::trials_since).
  struct Since {
    int64_t from = 0;
    std::span<const int64_t> also;
  };
  // Trials of a study (all, the ones matching a filter, one number, or those `since` selects),
  // in number order. Inside the caller's transaction.
  std::vector<FrozenTrial> load(int64_t study_id, const Filter* where, const int64_t* number,
                                const Since* since = nullptr);

 private:
  // Inside the caller's write transaction.
  int fail_stale_locked(double grace);
  // The result's rows of trial `id` (state, finished_at and error excepted); the metric names
  // this study saw first are appended to `added`.
  void write_result(int64_t study_id, int64_t id, const TrialResult& r,
                    std::vector<std::string>& added);

  SqliteConnection& c_;
  double last_stale_check_ = 0;
  std::map<int64_t, std::set<std::string>> known_metrics_;  // per study, committed names
  FinishedTrialCache finished_;
};

}  // namespace autocompress
