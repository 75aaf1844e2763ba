// Trials on a PostgreSQL server: ask (a WAITING trial claimed with FOR UPDATE SKIP LOCKED, or a
// new one numbered under a lock on its study's row), parameters, heartbeats, leases, tell, stale
// RUNNING trials failed and re-queued once, and listings (all trials, one number, a filter, or
// those Storage::trials_since selects), which copy the finished trials read before. Every call
// runs inside the caller's transaction.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/filter.hpp"
#include "storage/pg_connection.hpp"
#include "storage/trial_cache.hpp"

namespace autocompress {

class PgTrials {
 public:
  explicit PgTrials(PgConnection& c) : c_(c) {}

  int fail_stale(PgTx& tx, double grace);
  // The trial asked for: a claimed WAITING one (with its params) or a new one.
  FrozenTrial ask(PgTx& tx, int64_t study_id, const std::string& worker);
  // Records the result; returns the metric names this study saw first (committed by the caller).
  std::vector<std::string> tell(PgTx& tx, int64_t study_id, int64_t number, const TrialResult& r);
  // `t` as given, under its number (copy-study).
  void import(PgTx& tx, int64_t study_id, const FrozenTrial& t);
  void set_params(PgTx& tx, int64_t study_id, int64_t number, const std::vector<Param>& params);
  void heartbeat(PgTx& tx, int64_t study_id, int64_t number);
  void lease(PgTx& tx, int64_t study_id, int64_t number, double seconds);

  struct Since {
    int64_t from = 0;
    std::span<const int64_t> also;
  };
  std::vector<FrozenTrial> load(PgTx& tx, int64_t study_id, const Filter* where,
                                const int64_t* number, const Since* since = nullptr);

  double last_stale_check = 0;
  std::map<int64_t, std::set<std::string>> known_metrics;  // per study, committed names
  // Listings copy finished trials from here; kept only after their transaction committed.
  FinishedTrialCache finished;

 private:
  PgConnection& c_;
};

}  // namespace autocompress
