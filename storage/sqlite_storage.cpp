#include "storage/sqlite_storage.hpp"

#include <mutex>

#include "storage/filter.hpp"
#include "storage/in_memory_storage.hpp"
#include "storage/sqlite_connection.hpp"
#include "storage/sqlite_open.hpp"
#include "storage/sqlite_studies.hpp"
#include "storage/sqlite_trials.hpp"
#include "storage/storage_error.hpp"

namespace autocompress {

// One connection, its studies and trials; every public method locks mu and runs in a transaction.
struct SqliteStorage::Impl {
  Impl(const std::string& path, SqliteOptions options) : conn(path, std::move(options)) {
    trials.version = open_storage_file(conn);
    if (conn.opt.read_only) return;
    try {
      trials.fail_stale(conn.opt.stale_grace_s);
    } catch (...) {
      conn.close();
      throw;
    }
  }

  SqliteConnection conn;
  SqliteStudies studies{conn};
  SqliteTrials trials{conn};
  std::mutex mu;
};

SqliteStorage::SqliteStorage(const std::string& path, SqliteOptions options)
    : impl_(std::make_unique<Impl>(path, std::move(options))) {}

SqliteStorage::~SqliteStorage() { impl_->conn.close(); }

const std::string& SqliteStorage::path() const { return impl_->conn.path; }

int64_t SqliteStorage::statements_executed() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conn.statements;
}

Study SqliteStorage::create_study(const StudySpec& spec, bool load_if_exists) {
  validate_spec(spec);
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(true, [&] {
    auto existing = impl_->studies.load(&spec.name);
    if (existing.empty()) return impl_->studies.insert(spec);
    if (load_if_exists && existing[0].objectives == spec.objectives) return existing[0];
    throw StorageError(ErrorKind::kUsage, impl_->conn.path,
                       "study '" + spec.name + "' already exists" +
                           (load_if_exists ? " with other objectives" : ""));
  });
}

Study SqliteStorage::import_study(const Study& study, const std::vector<FrozenTrial>& trials) {
  validate_spec(study);
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(true, [&] {
    if (!impl_->studies.load(&study.name).empty())
      throw StorageError(ErrorKind::kUsage, impl_->conn.path,
                         "study '" + study.name + "' already exists");
    const Study s = impl_->studies.insert(study, study.created_at);
    for (const auto& t : trials) impl_->trials.import(s.id, t);
    return s;
  });
}

std::vector<Study> SqliteStorage::studies() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(false, [&] { return impl_->studies.load(nullptr); });
}

std::optional<Study> SqliteStorage::find_study(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->conn.transaction(false, [&] { return impl_->studies.load(&name); });
  if (s.empty()) return std::nullopt;
  return s[0];
}

void SqliteStorage::set_study_user_attr(int64_t study_id, const std::string& key,
                                        const std::string& value) {
  std::lock_guard lock(impl_->mu);
  impl_->conn.transaction(true, [&] {
    impl_->studies.by_id(study_id);
    impl_->studies.set_user_attr(study_id, key, value);
  });
}

std::vector<std::string> SqliteStorage::metric_names(int64_t study_id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(false, [&] { return impl_->studies.metric_names(study_id); });
}

FrozenTrial SqliteStorage::ask(int64_t study_id, const std::string& worker) {
  std::lock_guard lock(impl_->mu);
  return impl_->trials.ask(study_id, worker);
}

void SqliteStorage::set_params(int64_t study_id, int64_t number, const std::vector<Param>& params) {
  std::lock_guard lock(impl_->mu);
  impl_->conn.transaction(true, [&] { impl_->trials.set_params(study_id, number, params); });
}

void SqliteStorage::heartbeat(int64_t study_id, int64_t number) {
  std::lock_guard lock(impl_->mu);
  impl_->conn.transaction(true, [&] { impl_->trials.heartbeat(study_id, number); });
}

void SqliteStorage::tell(int64_t study_id, int64_t number, const TrialResult& result) {
  std::lock_guard lock(impl_->mu);
  const Study* cached = impl_->studies.cached(study_id);
  const Study s =
      cached ? *cached
             : impl_->conn.transaction(false, [&] { return impl_->studies.by_id(study_id); });
  validate_result(s, number, result);
  impl_->trials.tell(study_id, number, result);
}

void SqliteStorage::lease(int64_t study_id, int64_t number, double seconds) {
  std::lock_guard lock(impl_->mu);
  impl_->conn.transaction(true, [&] { impl_->trials.lease(study_id, number, seconds); });
}

int SqliteStorage::fail_stale_trials(double grace_seconds) {
  std::lock_guard lock(impl_->mu);
  return impl_->trials.fail_stale(grace_seconds);
}

std::optional<FrozenTrial> SqliteStorage::find_trial(int64_t study_id, int64_t number) const {
  std::lock_guard lock(impl_->mu);
  auto t = impl_->conn.transaction(false,
                                   [&] { return impl_->trials.load(study_id, nullptr, &number); });
  if (t.empty()) return std::nullopt;
  return t[0];
}

std::vector<FrozenTrial> SqliteStorage::trials_since(int64_t study_id, int64_t from,
                                                     std::span<const int64_t> also) const {
  std::lock_guard lock(impl_->mu);
  const SqliteTrials::Since since{from, also};
  return impl_->conn.transaction(
      false, [&] { return impl_->trials.load(study_id, nullptr, nullptr, &since); });
}

std::vector<FrozenTrial> SqliteStorage::trials(int64_t study_id, const Filter* where) const {
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(false, [&] {
    if (where) {
      const Study s = impl_->studies.by_id(study_id);
      where->check_names(flat_column_names(s, impl_->studies.metric_names(study_id)));
    }
    return impl_->trials.load(study_id, where, nullptr);
  });
}

}  // namespace autocompress
