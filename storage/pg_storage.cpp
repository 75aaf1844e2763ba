#include "storage/pg_storage.hpp"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "storage/filter.hpp"
#include "storage/in_memory_storage.hpp"
#include "storage/pg_connection.hpp"
#include "storage/pg_schema.hpp"
#include "storage/pg_trials.hpp"
#include "storage/trial_rows.hpp"

namespace autocompress {
namespace {

// Every study in id order, or the one named *name.
std::vector<Study> load_studies(PgTx& tx, const std::string* name) {
  std::vector<Study> out;
  tx.each(std::string(kStudyColumns) + (name ? "WHERE name = $1" : "ORDER BY study_id"),
          name ? pg_params(*name) : PgParams{},
          [&](const PgRow& r) { out.push_back(study_from_row(r)); });
  for (auto& s : out) {
    const PgParams id = pg_params(s.id);
    tx.each("SELECT name, direction FROM study_objectives WHERE study_id = $1 ORDER BY idx", id,
            [&](const PgRow& r) {
              s.objectives.push_back({r.text(0), direction_from(r.text(1))});
            });
    tx.each("SELECT name FROM study_constraints WHERE study_id = $1 ORDER BY idx", id,
            [&](const PgRow& r) { s.constraints.push_back(r.text(0)); });
    tx.each("SELECT key, value FROM study_user_attrs WHERE study_id = $1", id,
            [&](const PgRow& r) { s.user_attrs[r.text(0)] = r.text(1); });
  }
  return out;
}

// created_at 0: now.
Study insert_study(PgTx& tx, const StudySpec& spec, double created_at = 0) {
  Study s;
  static_cast<StudySpec&>(s) = spec;
  s.created_at = created_at > 0 ? created_at : unix_now();
  const auto& p = spec.provenance;
  PgParams row = pg_params(spec.name, spec.model_sha256, spec.model_path, spec.dataset, spec.split,
                           spec.target, nlohmann::json(spec.reference_point).dump(),
                           spec.search_space, spec.sampler, spec.sampler_settings);
  row.add(p.tool_version).add(p.onednn_version).add(p.cpu_model).add(p.isa).add(p.threads);
  row.add(s.created_at);
  s.id = *tx.integer(
      "INSERT INTO studies (name, model_sha256, model_path, dataset, split, target, "
      "reference_point, search_space, sampler, sampler_settings, tool_version, "
      "onednn_version, cpu_model, isa, threads, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
      "RETURNING study_id",
      row);
  for (size_t i = 0; i < spec.objectives.size(); ++i)
    tx.exec("INSERT INTO study_objectives (study_id, idx, name, direction) VALUES ($1, $2, $3, $4)",
            pg_params(s.id, int64_t(i), spec.objectives[i].name,
                      to_string(spec.objectives[i].direction)));
  for (size_t i = 0; i < spec.constraints.size(); ++i)
    tx.exec("INSERT INTO study_constraints (study_id, idx, name) VALUES ($1, $2, $3)",
            pg_params(s.id, int64_t(i), spec.constraints[i]));
  for (const auto& [k, v] : spec.user_attrs)
    tx.exec("INSERT INTO study_user_attrs (study_id, key, value) VALUES ($1, $2, $3)",
            pg_params(s.id, k, v));
  rebuild_pg_flat_view(tx);
  return s;
}

std::vector<std::string> load_metric_names(PgTx& tx, int64_t study_id) {
  std::vector<std::string> out;
  tx.each("SELECT name FROM study_metrics WHERE study_id = $1 ORDER BY name", pg_params(study_id),
          [&](const PgRow& r) { out.push_back(r.text(0)); });
  return out;
}

}  // namespace

struct PgStorage::Impl {
  Impl(const std::string& uri, PgOptions options) : conn(uri, options) {
    open_pg_database(conn);
    if (!conn.opt().read_only) stale_check();
  }

  // A study by id; objectives and constraints never change, so it is kept.
  Study study(PgTx& tx, int64_t id) {
    if (auto it = cache.find(id); it != cache.end()) return it->second;
    for (auto& s : load_studies(tx, nullptr))
      if (s.id == id) return cache[id] = s;
    throw StorageError(ErrorKind::kUsage, conn.where(), "unknown study id " + std::to_string(id));
  }

  // The same without a transaction once the study is known (a round trip less per tell).
  Study cached_study(int64_t id) {
    if (auto it = cache.find(id); it != cache.end()) return it->second;
    return conn.transaction(false, [&](PgTx& tx) { return study(tx, id); });
  }

  void stale_check() {
    trials.last_stale_check = unix_now();
    conn.transaction(true,
                     [&](PgTx& tx) { return trials.fail_stale(tx, conn.opt().stale_grace_s); });
  }

  PgConnection conn;
  PgTrials trials{conn};
  std::map<int64_t, Study> cache;
  std::mutex mu;
};

PgStorage::PgStorage(const std::string& uri, PgOptions options)
    : impl_(std::make_unique<Impl>(uri, options)) {}

PgStorage::~PgStorage() = default;

const std::string& PgStorage::where() const { return impl_->conn.where(); }

Study PgStorage::create_study(const StudySpec& spec, bool load_if_exists) {
  validate_spec(spec);
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(true, [&](PgTx& tx) {
    auto existing = load_studies(tx, &spec.name);
    if (existing.empty()) return insert_study(tx, spec);
    if (load_if_exists && existing[0].objectives == spec.objectives) return existing[0];
    throw StorageError(ErrorKind::kUsage, impl_->conn.where(),
                       "study '" + spec.name + "' already exists" +
                           (load_if_exists ? " with other objectives" : ""));
  });
}

Study PgStorage::import_study(const Study& study, const std::vector<FrozenTrial>& trials) {
  validate_spec(study);
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(true, [&](PgTx& tx) {
    if (!load_studies(tx, &study.name).empty())
      throw StorageError(ErrorKind::kUsage, impl_->conn.where(),
                         "study '" + study.name + "' already exists");
    const Study s = insert_study(tx, study, study.created_at);
    for (const auto& t : trials) impl_->trials.import(tx, s.id, t);
    return s;
  });
}

std::vector<Study> PgStorage::studies() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(false, [&](PgTx& tx) { return load_studies(tx, nullptr); });
}

std::optional<Study> PgStorage::find_study(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->conn.transaction(false, [&](PgTx& tx) { return load_studies(tx, &name); });
  if (s.empty()) return std::nullopt;
  return s[0];
}

void PgStorage::set_study_user_attr(int64_t study_id, const std::string& key,
                                    const std::string& value) {
  std::lock_guard lock(impl_->mu);
  impl_->conn.transaction(true, [&](PgTx& tx) {
    impl_->study(tx, study_id);
    tx.exec(
        "INSERT INTO study_user_attrs (study_id, key, value) VALUES ($1, $2, $3) "
        "ON CONFLICT (study_id, key) DO UPDATE SET value = EXCLUDED.value",
        pg_params(study_id, key, value));
  });
}

std::vector<std::string> PgStorage::metric_names(int64_t study_id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(false, [&](PgTx& tx) { return load_metric_names(tx, study_id); });
}

FrozenTrial PgStorage::ask(int64_t study_id, const std::string& worker) {
  std::lock_guard lock(impl_->mu);
  if (unix_now() - impl_->trials.last_stale_check >= impl_->conn.opt().stale_check_interval_s)
    impl_->stale_check();
  return impl_->conn.transaction(true,
                                 [&](PgTx& tx) { return impl_->trials.ask(tx, study_id, worker); });
}

void PgStorage::set_params(int64_t study_id, int64_t number, const std::vector<Param>& params) {
  std::lock_guard lock(impl_->mu);
  impl_->conn.transaction(
      true, [&](PgTx& tx) { impl_->trials.set_params(tx, study_id, number, params); });
}

void PgStorage::heartbeat(int64_t study_id, int64_t number) {
  std::lock_guard lock(impl_->mu);
  impl_->conn.transaction(true, [&](PgTx& tx) { impl_->trials.heartbeat(tx, study_id, number); });
}

void PgStorage::lease(int64_t study_id, int64_t number, double seconds) {
  std::lock_guard lock(impl_->mu);
  impl_->conn.transaction(true,
                          [&](PgTx& tx) { impl_->trials.lease(tx, study_id, number, seconds); });
}

void PgStorage::tell(int64_t study_id, int64_t number, const TrialResult& result) {
  std::lock_guard lock(impl_->mu);
  const Study s = impl_->cached_study(study_id);
  validate_result(s, number, result);
  const auto added = impl_->conn.transaction(
      true, [&](PgTx& tx) { return impl_->trials.tell(tx, study_id, number, result); });
  impl_->trials.known_metrics[study_id].insert(added.begin(), added.end());  // committed
}

int PgStorage::fail_stale_trials(double grace_seconds) {
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(
      true, [&](PgTx& tx) { return impl_->trials.fail_stale(tx, grace_seconds); });
}

std::optional<FrozenTrial> PgStorage::find_trial(int64_t study_id, int64_t number) const {
  std::lock_guard lock(impl_->mu);
  auto t = impl_->conn.transaction(
      false, [&](PgTx& tx) { return impl_->trials.load(tx, study_id, nullptr, &number); });
  if (t.empty()) return std::nullopt;
  return t[0];
}

std::vector<FrozenTrial> PgStorage::trials(int64_t study_id, const Filter* where) const {
  std::lock_guard lock(impl_->mu);
  return impl_->conn.transaction(false, [&](PgTx& tx) {
    if (where) {
      const Study s = impl_->study(tx, study_id);
      where->check_names(flat_column_names(s, load_metric_names(tx, study_id)));
    }
    return impl_->trials.load(tx, study_id, where, nullptr);
  });
}

std::vector<FrozenTrial> PgStorage::trials_since(int64_t study_id, int64_t from,
                                                 std::span<const int64_t> also) const {
  std::lock_guard lock(impl_->mu);
  const PgTrials::Since since{from, also};
  return impl_->conn.transaction(
      false, [&](PgTx& tx) { return impl_->trials.load(tx, study_id, nullptr, nullptr, &since); });
}

}  // namespace autocompress
