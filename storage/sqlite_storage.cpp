#include "storage/sqlite_storage.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "storage/filter.hpp"
#include "storage/in_memory_storage.hpp"
#include "storage/schema.hpp"
#include "storage/storage_error.hpp"

namespace autocompress {

namespace {

// Thrown inside a transaction when SQLite reports the database busy; the transaction is retried.
struct Busy {};

bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

}  // namespace

// ------------------------------------------------------------------ connection and statements

struct SqliteStorage::Impl {
  std::string path;
  SqliteOptions opt;
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache;
  int64_t statements = 0;
  int64_t kill_after = 0;
  double last_stale_check = 0;
  int version = kSchemaVersion;  // of the open file (a read-only open may see an older one)
  std::map<int64_t, std::set<std::string>> known_metrics;  // per study, committed names
  // Finished trials as read by a listing, by trial_id: immutable, so never stale.
  std::unordered_map<int64_t, FrozenTrial> finished_trials;
  std::mutex mu;
  std::mt19937 rng{std::random_device{}()};

  [[noreturn]] void fail(int rc, const std::string& what) const {
    if (is_busy(rc)) throw Busy{};
    const int primary = rc & 0xff;
    const ErrorKind kind =
        primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT ? ErrorKind::kData : ErrorKind::kIo;
    std::string msg = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if (primary == SQLITE_NOTADB) msg = "not an SQLite database (" + msg + ")";
    throw StorageError(kind, path, msg);
  }

  void counted() {
    ++statements;
    if (kill_after > 0 && statements >= kill_after) std::raise(SIGKILL);
    if (opt.after_statement) opt.after_statement(statements);
  }

  // A cached prepared statement, reset and unbound when the Query ends.
  class Query {
   public:
    Query(Impl& impl, const std::string& sql, bool cached = true) : impl_(impl), cached_(cached) {
      if (cached) {
        auto it = impl.cache.find(sql);
        if (it != impl.cache.end()) s_ = it->second;
      }
      if (!s_) {
        const int rc = sqlite3_prepare_v2(impl.db, sql.c_str(), int(sql.size()), &s_, nullptr);
        if (rc != SQLITE_OK) impl.fail(rc, "preparing '" + sql.substr(0, 60) + "'");
        if (cached) impl.cache[sql] = s_;
      }
    }
    ~Query() {
      if (cached_) {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
      } else {
        sqlite3_finalize(s_);
      }
    }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    Query& bind(int i, double v) { return check(sqlite3_bind_double(s_, i, v)); }
    Query& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
    Query& bind(int i, int v) { return bind(i, int64_t(v)); }
    Query& bind(int i, const std::string& v) {
      return check(sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT));
    }
    Query& bind_null(int i) { return check(sqlite3_bind_null(s_, i)); }
    Query& bind_time(int i, double t) { return t > 0 ? bind(i, t) : bind_null(i); }

    // Steps once; true while there is a row.
    bool step() {
      const int rc = sqlite3_step(s_);
      if (!stepped_) {
        stepped_ = true;
        impl_.counted();
      }
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      impl_.fail(rc, "running '" + std::string(sqlite3_sql(s_)).substr(0, 60) + "'");
    }
    void run() {
      while (step()) {
      }
    }
    bool null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
    double real(int c) const { return null(c) ? NAN : sqlite3_column_double(s_, c); }
    double time(int c) const { return null(c) ? 0 : sqlite3_column_double(s_, c); }
    int64_t integer(int c) const { return sqlite3_column_int64(s_, c); }
    std::string text(int c) const {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
      return p ? std::string(p, size_t(sqlite3_column_bytes(s_, c))) : std::string();
    }

   private:
    Query& check(int rc) {
      if (rc != SQLITE_OK) impl_.fail(rc, "binding a parameter");
      return *this;
    }
    Impl& impl_;
    sqlite3_stmt* s_ = nullptr;
    bool cached_;
    bool stepped_ = false;
  };

  void exec(const std::string& sql) { Query(*this, sql).run(); }

  // A script of several statements (DDL); not cached, counted once per statement.
  void exec_script(const std::string& sql) {
    const char* tail = sql.c_str();
    while (tail && *tail) {
      sqlite3_stmt* s = nullptr;
      const int rc = sqlite3_prepare_v2(db, tail, -1, &s, &tail);
      if (rc != SQLITE_OK) fail(rc, "preparing the schema");
      if (!s) break;  // trailing whitespace
      const int src = sqlite3_step(s);
      sqlite3_finalize(s);
      counted();
      if (src != SQLITE_DONE && src != SQLITE_ROW) fail(src, "running the schema");
    }
  }

  void close() {
    for (auto& [sql, s] : cache) sqlite3_finalize(s);
    cache.clear();
    if (db) sqlite3_close_v2(db);
    db = nullptr;
  }

  void open_connection(int flags) {
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      close();
      throw StorageError(ErrorKind::kIo, path, "cannot open: " + msg);
    }
    sqlite3_busy_timeout(db, opt.busy_timeout_ms);
    sqlite3_extended_result_codes(db, 1);
  }

  // Runs `body` in a transaction (IMMEDIATE for writes), retrying while the database is busy.
  template <class F>
  auto transaction(bool write, F&& body) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration<double>(opt.lock_budget_s);
    double backoff_ms = 1;
    for (int attempt = 0;; ++attempt) {
      try {
        exec(write ? "BEGIN IMMEDIATE" : "BEGIN");
        if constexpr (std::is_void_v<decltype(body())>) {
          body();
          exec("COMMIT");
          return;
        } else {
          auto r = body();
          exec("COMMIT");
          return r;
        }
      } catch (const Busy&) {
        rollback();
        if (clock::now() > deadline)
          throw StorageError(ErrorKind::kRuntime, path,
                             "database stayed locked for " + std::to_string(opt.lock_budget_s) +
                                 " s (" + std::to_string(attempt + 1) + " attempts)");
        std::uniform_real_distribution<double> jitter(0.5, 1.5);
        std::this_thread::sleep_for(
            std::chrono::duration<double, std::milli>(backoff_ms * jitter(rng)));
        backoff_ms = std::min(backoff_ms * 2, 100.0);
      } catch (...) {
        rollback();
        throw;
      }
    }
  }

  void rollback() {
    if (db && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  // ---------------------------------------------------------------- schema checks

  // The schema version of the open file: 0 for an empty database. Throws for foreign files.
  int read_version() {
    int tables = 0;
    bool has_version = false;
    {
      Query q(*this, "SELECT name FROM sqlite_schema WHERE type = 'table'", false);
      while (q.step()) {
        ++tables;
        if (q.text(0) == "schema_version") has_version = true;
      }
    }
    if (!has_version) {
      if (tables > 0)
        throw StorageError(ErrorKind::kData, path,
                           "an SQLite database, but not an autocompress storage (no schema_version "
                           "table); refusing to change it");
      return 0;
    }
    Query q(*this, "SELECT version FROM schema_version", false);
    if (!q.step()) throw StorageError(ErrorKind::kData, path, "schema_version table is empty");
    return int(q.integer(0));
  }

  void check_version(int v) const {
    if (v > kSchemaVersion)
      throw StorageError(ErrorKind::kData, path,
                         "written by a newer autocompress (schema version " + std::to_string(v) +
                             ", this binary knows up to " + std::to_string(kSchemaVersion) +
                             "); upgrade autocompress; the file was not changed");
  }

  void open(const std::string& p, SqliteOptions o) {
    path = p;
    opt = std::move(o);
    if (const char* k = std::getenv("AC_STORAGE_KILL_AFTER")) kill_after = std::atoll(k);
    struct stat st {};
    const bool exists = ::stat(path.c_str(), &st) == 0;
    if (opt.read_only && !exists) throw StorageError(ErrorKind::kIo, path, "no such file");
    if (opt.read_only && st.st_size == 0)
      throw StorageError(ErrorKind::kData, path, "empty file, not an autocompress storage yet");
    if (exists && st.st_size > 0) {
      // Checked read-only first: refusing a file must leave it byte-for-byte unchanged.
      open_connection(SQLITE_OPEN_READONLY);
      try {
        const int v = transaction(false, [&] { return read_version(); });
        check_version(v);
        // Versions >= 1 read fine: columns added later read as their defaults (lease_until).
        if (opt.read_only && v < 1)
          throw StorageError(ErrorKind::kData, path,
                             "schema version " + std::to_string(v) +
                                 " needs an upgrade; open it once for writing");
        version = v;
      } catch (...) {
        close();
        throw;
      }
      if (opt.read_only) return;
      close();
    }
    open_connection(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    try {
      set_pragmas();
      transaction(true, [&] {
        const int v = read_version();
        check_version(v);
        for (int i = v; i < kSchemaVersion; ++i) exec_script(migrations()[size_t(i)]);
        if (v < kSchemaVersion) rebuild_flat_view();
        version = kSchemaVersion;
      });
      fail_stale(opt.stale_grace_s);
    } catch (...) {
      close();
      throw;
    }
  }

  void set_pragmas() {
    // journal_mode needs the lock briefly when several workers open at once: retry on busy.
    for (int attempt = 0;; ++attempt) {
      try {
        Query q(*this, "PRAGMA journal_mode = WAL", false);
        if (q.step() && q.text(0) != "wal")
          throw StorageError(ErrorKind::kIo, path,
                             "cannot switch to WAL mode (got " + q.text(0) + ")");
        break;
      } catch (const Busy&) {
        if (attempt > 1000) throw StorageError(ErrorKind::kRuntime, path, "database stayed locked");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    exec_script(opt.full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  }

  void rebuild_flat_view() {
    static const std::set<std::string> fixed = [] {
      std::set<std::string> s(flat_text_columns().begin(), flat_text_columns().end());
      for (const auto& c : flat_columns(Study{}, {})) s.insert(c.name);
      return s;
    }();
    std::vector<FlatViewColumn> cols;
    {
      Query q(*this, kFlatColumnsQuery, false);
      while (q.step()) {
        const std::string name = q.text(0);
        if (fixed.count(name)) continue;
        auto it = std::find_if(cols.begin(), cols.end(),
                               [&](const FlatViewColumn& c) { return c.name == name; });
        if (it == cols.end()) it = cols.insert(cols.end(), FlatViewColumn{name});
        const int64_t kind = q.integer(1);
        (kind == 0 ? it->objective : kind == 1 ? it->metric : it->constraint) = true;
      }
    }
    exec_script("DROP VIEW IF EXISTS trials_flat");
    exec_script(trials_flat_ddl(cols));
  }

  // ---------------------------------------------------------------- studies

  std::vector<Study> load_studies(const std::string* name) {
    std::vector<Study> out;
    {
      Query q(*this,
              name ? "SELECT study_id, name, model_sha256, model_path, dataset, split, target, "
                     "reference_point, search_space, sampler, sampler_settings, tool_version, "
                     "onednn_version, cpu_model, isa, threads, created_at FROM studies "
                     "WHERE name = ?"
                   : "SELECT study_id, name, model_sha256, model_path, dataset, split, target, "
                     "reference_point, search_space, sampler, sampler_settings, tool_version, "
                     "onednn_version, cpu_model, isa, threads, created_at FROM studies "
                     "ORDER BY study_id");
      if (name) q.bind(1, *name);
      while (q.step()) {
        Study s;
        s.id = q.integer(0);
        s.name = q.text(1);
        s.model_sha256 = q.text(2);
        s.model_path = q.text(3);
        s.dataset = q.text(4);
        s.split = q.text(5);
        s.target = q.text(6);
        s.reference_point = nlohmann::json::parse(q.text(7)).get<std::vector<double>>();
        s.search_space = q.text(8);
        s.sampler = q.text(9);
        s.sampler_settings = q.text(10);
        s.provenance = {q.text(11), q.text(12), q.text(13), q.text(14), int(q.integer(15))};
        s.created_at = q.real(16);
        out.push_back(std::move(s));
      }
    }
    for (auto& s : out) {
      Query o(*this,
              "SELECT name, direction FROM study_objectives WHERE study_id = ? ORDER BY idx");
      o.bind(1, s.id);
      while (o.step()) s.objectives.push_back({o.text(0), direction_from(o.text(1))});
      Query c(*this, "SELECT name FROM study_constraints WHERE study_id = ? ORDER BY idx");
      c.bind(1, s.id);
      while (c.step()) s.constraints.push_back(c.text(0));
      Query a(*this, "SELECT key, value FROM study_user_attrs WHERE study_id = ?");
      a.bind(1, s.id);
      while (a.step()) s.user_attrs[a.text(0)] = a.text(1);
    }
    return out;
  }

  Study insert_study(const StudySpec& spec) {
    Study s;
    static_cast<StudySpec&>(s) = spec;
    s.created_at = unix_now();
    {
      Query q(*this,
              "INSERT INTO studies (name, model_sha256, model_path, dataset, split, target, "
              "reference_point, search_space, sampler, sampler_settings, tool_version, "
              "onednn_version, cpu_model, isa, threads, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING study_id");
      const auto& p = spec.provenance;
      q.bind(1, spec.name).bind(2, spec.model_sha256).bind(3, spec.model_path);
      q.bind(4, spec.dataset).bind(5, spec.split).bind(6, spec.target);
      q.bind(7, nlohmann::json(spec.reference_point).dump()).bind(8, spec.search_space);
      q.bind(9, spec.sampler).bind(10, spec.sampler_settings).bind(11, p.tool_version);
      q.bind(12, p.onednn_version).bind(13, p.cpu_model).bind(14, p.isa).bind(15, p.threads);
      q.bind(16, s.created_at);
      q.step();
      s.id = q.integer(0);
      q.run();
    }
    for (size_t i = 0; i < spec.objectives.size(); ++i) {
      Query q(*this,
              "INSERT INTO study_objectives (study_id, idx, name, direction) VALUES (?, ?, ?, ?)");
      q.bind(1, s.id).bind(2, int64_t(i)).bind(3, spec.objectives[i].name);
      q.bind(4, std::string(to_string(spec.objectives[i].direction)));
      q.run();
    }
    for (size_t i = 0; i < spec.constraints.size(); ++i) {
      Query q(*this, "INSERT INTO study_constraints (study_id, idx, name) VALUES (?, ?, ?)");
      q.bind(1, s.id).bind(2, int64_t(i)).bind(3, spec.constraints[i]);
      q.run();
    }
    for (const auto& [k, v] : spec.user_attrs) {
      Query q(*this, "INSERT INTO study_user_attrs (study_id, key, value) VALUES (?, ?, ?)");
      q.bind(1, s.id).bind(2, k).bind(3, v);
      q.run();
    }
    rebuild_flat_view();
    return s;
  }

  std::map<int64_t, Study> study_cache;  // objectives and constraints never change

  Study study_by_id(int64_t id) {
    if (auto it = study_cache.find(id); it != study_cache.end()) return it->second;
    for (auto& s : load_studies(nullptr))
      if (s.id == id) return study_cache[id] = s;
    throw StorageError(ErrorKind::kUsage, path, "unknown study id " + std::to_string(id));
  }

  std::vector<std::string> metrics_of(int64_t study_id) {
    std::vector<std::string> out;
    Query q(*this, "SELECT name FROM study_metrics WHERE study_id = ? ORDER BY name");
    q.bind(1, study_id);
    while (q.step()) out.push_back(q.text(0));
    return out;
  }

  // ---------------------------------------------------------------- trials

  // The trial_id of a RUNNING trial; throws if missing or finished.
  int64_t running_trial(int64_t study_id, int64_t number) {
    Query q(*this, "SELECT trial_id, state FROM trials WHERE study_id = ? AND number = ?");
    q.bind(1, study_id).bind(2, number);
    if (!q.step())
      throw StorageError(
          ErrorKind::kUsage, path,
          "study id " + std::to_string(study_id) + " has no trial " + std::to_string(number));
    if (q.text(1) != "RUNNING")
      throw StorageError(ErrorKind::kData, path,
                         "trial " + std::to_string(number) + " is " + q.text(1) +
                             "; only RUNNING trials can change");
    return q.integer(0);
  }

  int64_t next_number(int64_t study_id) {
    Query q(*this,
            "SELECT COALESCE((SELECT number FROM trials WHERE study_id = ?1 ORDER BY number DESC "
            "LIMIT 1) + 1, 0)");
    q.bind(1, study_id);
    q.step();
    return q.integer(0);
  }

  int fail_stale(double grace) {
    return transaction(true, [&] { return fail_stale_locked(grace); });
  }

  int fail_stale_locked(double grace) {
    const double now = unix_now();
    last_stale_check = now;
    struct Stale {
      int64_t trial_id, study_id, number;
      std::string reason;
      bool requeued;
    };
    std::vector<Stale> stale;
    {
      Query q(*this,
              "SELECT trial_id, study_id, number, worker, requeued_from IS NOT NULL, "
              "heartbeat_at, COALESCE(lease_until, 0) FROM trials WHERE state = 'RUNNING' AND "
              "heartbeat_at < ? AND (lease_until IS NULL OR lease_until <= ?)");
      q.bind(1, now - grace).bind(2, now);
      while (q.step()) {
        FrozenTrial t;
        t.worker = q.text(3);
        t.heartbeat_at = q.time(5);
        t.lease_until = q.time(6);
        stale.push_back(
            {q.integer(0), q.integer(1), q.integer(2), stale_reason(t, grace), q.integer(4) != 0});
      }
    }
    for (const auto& s : stale) {
      Query u(*this,
              "UPDATE trials SET state = 'FAIL', finished_at = ?, error = ? WHERE trial_id = ?");
      u.bind(1, now).bind(2, s.reason);
      u.bind(3, s.trial_id).run();
      if (s.requeued) continue;  // re-queued once only
      int64_t new_id;
      {
        Query i(*this,
                "INSERT INTO trials (study_id, number, state, requeued_from) "
                "VALUES (?, ?, 'WAITING', ?) RETURNING trial_id");
        i.bind(1, s.study_id).bind(2, next_number(s.study_id)).bind(3, s.number);
        i.step();
        new_id = i.integer(0);
        i.run();
      }
      Query p(*this,
              "INSERT INTO trial_params (trial_id, name, num, text) "
              "SELECT ?, name, num, text FROM trial_params WHERE trial_id = ?");
      p.bind(1, new_id).bind(2, s.trial_id).run();
    }
    return int(stale.size());
  }

  FrozenTrial ask(int64_t study_id, const std::string& worker) {
    return transaction(true, [&] {
      const double now = unix_now();
      if (now - last_stale_check >= opt.stale_check_interval_s)
        fail_stale_locked(opt.stale_grace_s);
      int64_t trial_id = -1, number = -1;
      {
        Query w(*this,
                "SELECT trial_id, number FROM trials WHERE study_id = ? AND state = 'WAITING' "
                "ORDER BY number LIMIT 1");
        w.bind(1, study_id);
        if (w.step()) trial_id = w.integer(0), number = w.integer(1);
      }
      if (trial_id >= 0) {
        Query u(*this,
                "UPDATE trials SET state = 'RUNNING', worker = ?, started_at = ?, "
                "heartbeat_at = ?, lease_until = NULL WHERE trial_id = ?");
        u.bind(1, worker).bind(2, now).bind(3, now).bind(4, trial_id).run();
      } else {
        {
          Query s(*this, "SELECT 1 FROM studies WHERE study_id = ?");
          s.bind(1, study_id);
          if (!s.step())
            throw StorageError(ErrorKind::kUsage, path,
                               "unknown study id " + std::to_string(study_id));
        }
        Query i(*this,
                "INSERT INTO trials (study_id, number, state, worker, started_at, heartbeat_at) "
                "VALUES (?1, COALESCE((SELECT number FROM trials WHERE study_id = ?1 ORDER BY "
                "number DESC LIMIT 1) + 1, 0), 'RUNNING', ?2, ?3, ?3) RETURNING trial_id, number");
        i.bind(1, study_id).bind(2, worker).bind(3, now);
        i.step();
        trial_id = i.integer(0), number = i.integer(1);
        i.run();
      }
      auto t = load_trials(study_id, nullptr, &number);
      return t.at(0);
    });
  }

  void tell(int64_t study_id, int64_t number, const TrialResult& r) {
    std::vector<std::string> added;
    transaction(true, [&] {
      added.clear();
      const int64_t id = running_trial(study_id, number);
      auto& known = known_metrics[study_id];
      for (size_t i = 0; i < r.values.size(); ++i) {
        Query q(*this, "INSERT INTO trial_values (trial_id, idx, value) VALUES (?, ?, ?)");
        q.bind(1, id).bind(2, int64_t(i)).bind(3, r.values[i]).run();
      }
      for (const auto& [name, v] : r.metrics) {
        Query q(*this, "INSERT INTO trial_metrics (trial_id, name, value) VALUES (?, ?, ?)");
        q.bind(1, id).bind(2, name).bind(3, v).run();
        if (!known.count(name)) added.push_back(name);
      }
      for (size_t i = 0; i < r.constraints.size(); ++i) {
        Query q(*this, "INSERT INTO trial_constraints (trial_id, idx, value) VALUES (?, ?, ?)");
        q.bind(1, id).bind(2, int64_t(i)).bind(3, r.constraints[i]).run();
      }
      for (const auto& [k, v] : r.user_attrs) {
        Query q(*this,
                "INSERT OR REPLACE INTO trial_user_attrs (trial_id, key, value) VALUES (?, ?, ?)");
        q.bind(1, id).bind(2, k).bind(3, v).run();
      }
      bool new_names = false;
      for (const auto& name : added) {
        Query q(*this, "INSERT OR IGNORE INTO study_metrics (study_id, name) VALUES (?, ?)");
        q.bind(1, study_id).bind(2, name).run();
        new_names |= sqlite3_changes(db) > 0;
      }
      if (new_names) rebuild_flat_view();  // new columns appear with the first trial that has them
      Query u(*this, "UPDATE trials SET state = ?, finished_at = ?, error = ? WHERE trial_id = ?");
      u.bind(1, std::string(to_string(r.state))).bind(2, unix_now()).bind(3, r.error);
      u.bind(4, id).run();
    });
    known_metrics[study_id].insert(added.begin(), added.end());  // committed
  }

  // Trials numbered `from` or more and those numbered in `also` (Storage::trials_since).
  struct Since {
    int64_t from = 0;
    std::span<const int64_t> also;
  };

  // Trials of a study (all, the ones matching a filter, one number, or those `since` selects),
  // in number order.
  std::vector<FrozenTrial> load_trials(int64_t study_id, const Filter* where, const int64_t* number,
                                       const Since* since = nullptr) {
    std::string sql = std::string(
                          "SELECT trial_id, number, state, worker, started_at, finished_at, "
                          "heartbeat_at, error, requeued_from, ") +
                      (version >= 2 ? "lease_until" : "NULL") + " FROM trials WHERE study_id = ?";
    Filter::Sql f;
    if (number) sql += " AND number = ?";
    // The numbers as one JSON array bound to one parameter: a single cached statement whatever
    // their count. One IN list rather than an OR, which would scan every trial of the study.
    std::string also;
    if (since) {
      sql +=
          " AND number IN (SELECT number FROM trials WHERE study_id = ?1 AND number >= ? "
          "UNION ALL SELECT value FROM json_each(?))";
      for (int64_t n : since->also) also += (also.empty() ? "[" : ",") + std::to_string(n);
      also += also.empty() ? "[]" : "]";
    }
    if (where) {
      f = where->to_sql();
      sql += " AND trial_id IN (SELECT trial_id FROM trials_flat WHERE study_id = ? AND (" +
             f.where + "))";
    }
    sql += " ORDER BY number";
    std::vector<FrozenTrial> out;
    std::unordered_map<int64_t, size_t> index;
    {
      Query q(*this, sql, !where);
      int b = 1;
      q.bind(b++, study_id);
      if (number) q.bind(b++, *number);
      if (since) {
        q.bind(b++, since->from);
        q.bind(b++, also);
      }
      if (where) {
        q.bind(b++, study_id);
        for (double v : f.params) q.bind(b++, v);
      }
      while (q.step()) {
        FrozenTrial t;
        t.study_id = study_id;
        t.number = q.integer(1);
        t.state = trial_state_from(q.text(2));
        t.worker = q.text(3);
        t.started_at = q.time(4);
        t.finished_at = q.time(5);
        t.heartbeat_at = q.time(6);
        t.error = q.text(7);
        if (!q.null(8)) t.requeued_from = q.integer(8);
        t.lease_until = q.time(9);
        index[q.integer(0)] = out.size();
        out.push_back(std::move(t));
      }
    }
    if (out.empty()) return out;
    if (where || number) {
      load_children(study_id, out.size() == 1 ? &index.begin()->first : nullptr, out, index);
      return out;
    }
    // Finished trials never change (the contract above): a listing copies the ones read before
    // and reads child rows only for the others, one trial at a time when they are few (the study
    // loop lists the study before every proposal).
    std::unordered_map<int64_t, size_t> todo;
    for (const auto& [id, i] : index) {
      const auto c = finished_trials.find(id);
      if (c != finished_trials.end())
        out[i] = c->second;
      else
        todo.emplace(id, i);
    }
    if (todo.size() > 32) {
      load_children(study_id, nullptr, out, todo);
    } else {
      for (const auto& [id, i] : todo) load_children(study_id, &id, out, {{id, i}});
    }
    for (const auto& [id, i] : todo)
      if (is_finished(out[i].state)) finished_trials.emplace(id, out[i]);
    return out;
  }

  // Params, values, metrics, constraints and attributes of the trials in `index`.
  void load_children(int64_t study_id, const int64_t* one, std::vector<FrozenTrial>& out,
                     const std::unordered_map<int64_t, size_t>& index) {
    auto each = [&](const char* table, const char* cols, auto&& fn) {
      std::string sql = std::string("SELECT c.trial_id, ") + cols + " FROM " + table + " c";
      sql += one ? " WHERE c.trial_id = ?"
                 : " JOIN trials t ON t.trial_id = c.trial_id WHERE t.study_id = ?";
      // No ORDER BY (a sort of every row): rows are placed by index; params sorted below.
      Query q(*this, sql);
      q.bind(1, one ? *one : study_id);
      while (q.step()) {
        auto it = index.find(q.integer(0));
        if (it != index.end()) fn(out[it->second], q);
      }
    };
    each("trial_params", "c.name, c.num, c.text", [](FrozenTrial& t, Query& q) {
      if (q.null(3))
        t.params.push_back({q.text(1), q.real(2)});
      else
        t.params.push_back({q.text(1), q.text(3)});
    });
    each("trial_values", "c.idx, c.value", [](FrozenTrial& t, Query& q) {
      t.values.resize(size_t(q.integer(1)) + 1, NAN);
      t.values[size_t(q.integer(1))] = q.real(2);
    });
    each("trial_metrics", "c.name, c.value",
         [](FrozenTrial& t, Query& q) { t.metrics[q.text(1)] = q.real(2); });
    each("trial_constraints", "c.idx, c.value", [](FrozenTrial& t, Query& q) {
      t.constraints.resize(size_t(q.integer(1)) + 1, NAN);
      t.constraints[size_t(q.integer(1))] = q.real(2);
    });
    each("trial_user_attrs", "c.key, c.value",
         [](FrozenTrial& t, Query& q) { t.user_attrs[q.text(1)] = q.text(2); });
    auto by_name = [](const Param& a, const Param& b) { return a.name < b.name; };
    for (const auto& [id, i] : index) {
      auto& t = out[i];
      if (!std::is_sorted(t.params.begin(), t.params.end(), by_name))
        std::sort(t.params.begin(), t.params.end(), by_name);
    }
  }
};

// ------------------------------------------------------------------ public methods

SqliteStorage::SqliteStorage(const std::string& path, SqliteOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->open(path, std::move(options));
}

SqliteStorage::~SqliteStorage() { impl_->close(); }

const std::string& SqliteStorage::path() const { return impl_->path; }

int64_t SqliteStorage::statements_executed() const {
  std::lock_guard lock(impl_->mu);
  return impl_->statements;
}

Study SqliteStorage::create_study(const StudySpec& spec, bool load_if_exists) {
  validate_spec(spec);
  std::lock_guard lock(impl_->mu);
  return impl_->transaction(true, [&] {
    auto existing = impl_->load_studies(&spec.name);
    if (existing.empty()) return impl_->insert_study(spec);
    if (load_if_exists && existing[0].objectives == spec.objectives) return existing[0];
    throw StorageError(ErrorKind::kUsage, impl_->path,
                       "study '" + spec.name + "' already exists" +
                           (load_if_exists ? " with other objectives" : ""));
  });
}

std::vector<Study> SqliteStorage::studies() const {
  std::lock_guard lock(impl_->mu);
  return impl_->transaction(false, [&] { return impl_->load_studies(nullptr); });
}

std::optional<Study> SqliteStorage::find_study(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->transaction(false, [&] { return impl_->load_studies(&name); });
  if (s.empty()) return std::nullopt;
  return s[0];
}

void SqliteStorage::set_study_user_attr(int64_t study_id, const std::string& key,
                                        const std::string& value) {
  std::lock_guard lock(impl_->mu);
  impl_->transaction(true, [&] {
    impl_->study_by_id(study_id);
    Impl::Query q(
        *impl_, "INSERT OR REPLACE INTO study_user_attrs (study_id, key, value) VALUES (?, ?, ?)");
    q.bind(1, study_id).bind(2, key).bind(3, value).run();
  });
}

std::vector<std::string> SqliteStorage::metric_names(int64_t study_id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->transaction(false, [&] { return impl_->metrics_of(study_id); });
}

FrozenTrial SqliteStorage::ask(int64_t study_id, const std::string& worker) {
  std::lock_guard lock(impl_->mu);
  return impl_->ask(study_id, worker);
}

void SqliteStorage::set_params(int64_t study_id, int64_t number, const std::vector<Param>& params) {
  std::lock_guard lock(impl_->mu);
  impl_->transaction(true, [&] {
    const int64_t id = impl_->running_trial(study_id, number);
    Impl::Query d(*impl_, "DELETE FROM trial_params WHERE trial_id = ?");
    d.bind(1, id).run();
    for (const auto& p : params) {
      Impl::Query q(*impl_,
                    "INSERT INTO trial_params (trial_id, name, num, text) VALUES (?, ?, ?, ?)");
      q.bind(1, id).bind(2, p.name);
      if (const double* v = std::get_if<double>(&p.value))
        q.bind(3, *v).bind_null(4);
      else
        q.bind_null(3).bind(4, std::get<std::string>(p.value));
      q.run();
    }
  });
}

void SqliteStorage::heartbeat(int64_t study_id, int64_t number) {
  std::lock_guard lock(impl_->mu);
  impl_->transaction(true, [&] {
    const int64_t id = impl_->running_trial(study_id, number);
    Impl::Query q(*impl_, "UPDATE trials SET heartbeat_at = ? WHERE trial_id = ?");
    q.bind(1, unix_now()).bind(2, id).run();
  });
}

void SqliteStorage::tell(int64_t study_id, int64_t number, const TrialResult& result) {
  std::lock_guard lock(impl_->mu);
  auto cached = impl_->study_cache.find(study_id);
  const Study s = cached != impl_->study_cache.end()
                      ? cached->second
                      : impl_->transaction(false, [&] { return impl_->study_by_id(study_id); });
  validate_result(s, number, result);
  impl_->tell(study_id, number, result);
}

void SqliteStorage::lease(int64_t study_id, int64_t number, double seconds) {
  std::lock_guard lock(impl_->mu);
  impl_->transaction(true, [&] {
    const int64_t id = impl_->running_trial(study_id, number);
    const double now = unix_now();
    Impl::Query q(*impl_, "UPDATE trials SET heartbeat_at = ?, lease_until = ? WHERE trial_id = ?");
    q.bind(1, now).bind_time(2, seconds > 0 ? now + seconds : 0).bind(3, id).run();
  });
}

int SqliteStorage::fail_stale_trials(double grace_seconds) {
  std::lock_guard lock(impl_->mu);
  return impl_->fail_stale(grace_seconds);
}

std::optional<FrozenTrial> SqliteStorage::find_trial(int64_t study_id, int64_t number) const {
  std::lock_guard lock(impl_->mu);
  auto t =
      impl_->transaction(false, [&] { return impl_->load_trials(study_id, nullptr, &number); });
  if (t.empty()) return std::nullopt;
  return t[0];
}

std::vector<FrozenTrial> SqliteStorage::trials_since(int64_t study_id, int64_t from,
                                                     std::span<const int64_t> also) const {
  std::lock_guard lock(impl_->mu);
  const Impl::Since since{from, also};
  return impl_->transaction(false,
                            [&] { return impl_->load_trials(study_id, nullptr, nullptr, &since); });
}

std::vector<FrozenTrial> SqliteStorage::trials(int64_t study_id, const Filter* where) const {
  std::lock_guard lock(impl_->mu);
  return impl_->transaction(false, [&] {
    if (where) {
      const Study s = impl_->study_by_id(study_id);
      where->check_names(flat_column_names(s, impl_->metrics_of(study_id)));
    }
    return impl_->load_trials(study_id, where, nullptr);
  });
}

}  // namespace autocompress
