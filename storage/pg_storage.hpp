// Storage on a PostgreSQL server, shared by worker processes on any number of machines
// (docs/distributed.md): one connection per object (per process), reused; READ COMMITTED
// transactions, reads read-only; a new trial's number chosen under a lock on its study's row;
// WAITING trials claimed with SELECT ... FOR UPDATE SKIP LOCKED; serialization failures,
// deadlocks and dropped connections retried with backoff; the schema (storage/pg_schema.hpp)
// created on first use, a database of another application or a newer schema refused before
// anything is written.
// Thread-safe: one connection per object, serialized by a mutex.
#pragma once

#include <memory>
#include <string>

#include "storage/storage.hpp"
#include "storage/study_copy.hpp"

namespace autocompress {

struct PgOptions {
  bool read_only = false;              // refuse to create the schema; reads only
  double stale_grace_s = 120;          // RUNNING trials without heartbeat this long become FAIL
  double stale_check_interval_s = 10;  // how often ask() looks for them (and once on open)
  double retry_budget_s = 300;         // total time one call retries transient failures
};

// True for "postgresql://..." and "postgres://..." (libpq's URI schemes).
bool is_postgres_uri(const std::string& db);

class PgStorage final : public Storage, public StudyImport {
 public:
  // `uri`: a libpq connection URI; the password may come from it, PGPASSWORD or ~/.pgpass.
  // Throws StorageError: kIo (server unreachable, login refused), kUsage (malformed URI),
  // kData (a database of another application, a newer schema), all naming host and database.
  explicit PgStorage(const std::string& uri, PgOptions options = {});
  ~PgStorage() override;
  PgStorage(const PgStorage&) = delete;
  PgStorage& operator=(const PgStorage&) = delete;

  // The URI without its password (for messages).
  const std::string& where() const;

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
