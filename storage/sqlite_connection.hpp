// One SQLite connection of a storage file: prepared statements cached and counted (the
// fail-point of the crash tests, SqliteOptions::after_statement), SQLite errors turned into
// StorageError, and transactions (BEGIN IMMEDIATE for writes) retried with jittered exponential
// backoff while the database is busy, until SqliteOptions::lock_budget_s. Not thread-safe: the
// storage serializes its use.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "storage/sqlite_storage.hpp"
#include "storage/storage_error.hpp"

namespace autocompress {

// Thrown inside a transaction when SQLite reports the database busy; the transaction is retried.
struct SqliteBusy {};

struct SqliteConnection {
  SqliteConnection(std::string file, SqliteOptions options);

  std::string path;
  SqliteOptions opt;
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache;
  int64_t statements = 0;
  int64_t kill_after = 0;  // AC_STORAGE_KILL_AFTER
  std::mt19937 rng{std::random_device{}()};

  // SqliteBusy for a busy database; otherwise StorageError kData (not a database, corrupt) or
  // kIo, with `what` and SQLite's message.
  [[noreturn]] void fail(int rc, const std::string& what) const;
  // Counts one statement and runs the fail-points.
  void counted();

  // A prepared statement (cached unless told otherwise), reset and unbound when the Query ends.
  class Query {
   public:
    Query(SqliteConnection& c, const std::string& sql, bool cached = true);
    ~Query();
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
    bool step();
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
      if (rc != SQLITE_OK) c_.fail(rc, "binding a parameter");
      return *this;
    }
    SqliteConnection& c_;
    sqlite3_stmt* s_ = nullptr;
    bool cached_;
    bool stepped_ = false;
  };

  void exec(const std::string& sql) { Query(*this, sql).run(); }
  // A script of several statements (DDL); not cached, counted once per statement.
  void exec_script(const std::string& sql);

  // Opens the file with sqlite3_open_v2 flags (StorageError kIo when it cannot), busy timeout set.
  // `immutable`: as SQLite's immutable=1 URI parameter, no locks and no -shm file (for reading a
  // file in a directory this process cannot write to).
  void open_connection(int flags, bool immutable = false);
  void close();
  void rollback();

  // Runs `body` in a transaction (IMMEDIATE for writes), retrying while the database is busy;
  // StorageError kRuntime once the lock budget is spent. Returns what body returns.
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
      } catch (const SqliteBusy&) {
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
};

}  // namespace autocompress
