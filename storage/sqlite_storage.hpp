// Storage in one SQLite file, shared by any number of worker processes and readers: WAL, one
// BEGIN IMMEDIATE transaction per write retried with backoff, files checked read-only before
// anything is written, finished trials cached across listings (docs/storage.md, "Durability and
// concurrency").
// Thread-safe: one connection per object, serialized by a mutex. Never use one across fork().
#pragma once

#include <functional>
#include <memory>

#include "storage/storage.hpp"
#include "storage/study_copy.hpp"

namespace autocompress {

struct SqliteOptions {
  bool read_only = false;
  bool full_sync = false;              // synchronous=FULL instead of NORMAL
  double stale_grace_s = 120;          // RUNNING trials without heartbeat this long become FAIL
  double stale_check_interval_s = 10;  // how often ask() looks for them (and once on open)
  int busy_timeout_ms = 1000;          // SQLite's own wait per attempt
  double lock_budget_s = 300;          // total time a write may wait for the lock
  // Fail-point for crash tests: called after the n-th SQL statement this object executed
  // (n = 1, 2, ...). The environment variable AC_STORAGE_KILL_AFTER=N raises SIGKILL after the
  // N-th statement instead.
  std::function<void(int64_t n)> after_statement;
};

class SqliteStorage final : public Storage, public StudyImport {
 public:
  // Throws StorageError: kIo (cannot open/create), kData (not SQLite, not ours, newer schema).
  explicit SqliteStorage(const std::string& path, SqliteOptions options = {});
  ~SqliteStorage() override;
  SqliteStorage(const SqliteStorage&) = delete;
  SqliteStorage& operator=(const SqliteStorage&) = delete;

  const std::string& path() const;
  // SQL statements executed so far by this object (the fail-point's counter).
  int64_t statements_executed() const;

  Study create_study(const StudySpec& spec, bool load_if_exists = false) override;
  std::vector<Study> studies() const override;
  std::optional<Study> find_study(const std::string& name) const override;
  void set_study_user_attr(int64_t study_id, const std::string& key,
                           const std::string& value) override;
  std::vector<std::string> metric_names(int64_t study_id) const override;

  FrozenTrial ask(int64_t study_id, const std::string& worker) override;
  void set_params(int64_t study_id, int64_t number, const std::vector<Param>& params) override;
  void heartbeat(int64_t study_id, int64_t number) override;
  void lease(int64_t study_id, int64_t number, double seconds) override;
  void tell(int64_t study_id, int64_t number, const TrialResult& result) override;
  int fail_stale_trials(double grace_seconds) override;

  std::optional<FrozenTrial> find_trial(int64_t study_id, int64_t number) const override;
  std::vector<FrozenTrial> trials(int64_t study_id, const Filter* where = nullptr) const override;
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t from,
                                        std::span<const int64_t> also = {}) const override;

  Study import_study(const Study& study, const std::vector<FrozenTrial>& trials) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace autocompress
