// One PostgreSQL connection of a PgStorage (libpqxx): statements with typed parameters (NaN as
// NULL, doubles written and read back exactly), transactions (read-only for reads) retried with
// jittered exponential backoff on serialization failures, deadlocks and dropped connections
// (reconnecting) until PgOptions::retry_budget_s, and every server error turned into a
// StorageError naming the server and database but never the password. Not thread-safe: the
// storage serializes its use.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "storage/pg_storage.hpp"
#include "storage/storage_error.hpp"

namespace autocompress {

// "postgresql://user@host:port/db?..." with any password removed (user:pw@, password=...).
std::string redact_uri(const std::string& uri);

// Statement parameters in $1, $2, ... order; nullopt is NULL.
class PgParams {
 public:
  PgParams& add(int64_t v) { return text(std::to_string(v)); }
  PgParams& add(int v) { return add(int64_t(v)); }
  PgParams& add(double v);  // NaN: NULL
  PgParams& add(const std::string& v) { return text(v); }
  PgParams& add(const char* v) { return text(v); }
  PgParams& null() {
    values_.emplace_back();
    return *this;
  }
  PgParams& time(double t) { return t > 0 ? add(t) : null(); }  // 0 (unset): NULL
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  PgParams& text(std::string v) {
    values_.emplace_back(std::move(v));
    return *this;
  }
  std::vector<std::optional<std::string>> values_;
};

template <class... A>
PgParams pg_params(const A&... a) {
  PgParams p;
  (p.add(a), ...);
  return p;
}

// A result row as trial_rows.hpp reads it.
class PgRow {
 public:
  explicit PgRow(const pqxx::row& r) : r_(r) {}
  bool null(int c) const;
  double real(int c) const;  // NULL: NaN
  double time(int c) const { return null(c) ? 0 : real(c); }
  int64_t integer(int c) const;
  std::string text(int c) const;  // NULL: ""

 private:
  const pqxx::row& r_;
};

class PgConnection;

// The statements of one transaction.
class PgTx {
 public:
  PgTx(PgConnection& c, pqxx::transaction_base& t) : c_(c), t_(t) {}
  // Runs `sql` with `p`; calls `row` for each result row. Returns the number of rows (for an
  // UPDATE/DELETE without RETURNING: the rows it changed).
  size_t each(const std::string& sql, const PgParams& p,
              const std::function<void(const PgRow&)>& row);
  size_t exec(const std::string& sql, const PgParams& p = {});
  // Runs several statements without parameters (DDL).
  void script(const std::string& sql);
  // The first row's first column, or nullopt when there is no row.
  std::optional<int64_t> integer(const std::string& sql, const PgParams& p = {});

 private:
  PgConnection& c_;
  pqxx::transaction_base& t_;
};

class PgConnection {
 public:
  // Connects at once: an unreachable server, a refused login or a malformed URI throw
  // StorageError(kIo / kUsage) naming the server, without retrying.
  PgConnection(const std::string& uri, PgOptions options);
  ~PgConnection();

  const std::string& where() const { return where_; }  // the URI without its password
  const PgOptions& opt() const { return opt_; }

  // Runs f(PgTx&) in one transaction (read-only unless `write`), committed when f returns;
  // retried from the start on transient failures (f must not keep state between attempts).
  template <class F>
  auto transaction(bool write, F&& f) -> decltype(f(std::declval<PgTx&>()));

  // The error for a server failure: message without the password, kind by SQLSTATE.
  [[noreturn]] void fail(const std::exception& e, const std::string& what) const;
  std::string scrub(const std::string& message) const;

 private:
  void connect();
  // Returns when a failed attempt may be retried (after sleeping), throws when not.
  void retry_or_throw(const std::exception& e, int attempt, double started);
  std::unique_ptr<pqxx::transaction_base> begin(bool write);
  void commit(pqxx::transaction_base& t);

  std::string uri_, where_, password_;
  PgOptions opt_;
  std::unique_ptr<pqxx::connection> conn_;
  std::mt19937 rng_{std::random_device{}()};
};

template <class F>
auto PgConnection::transaction(bool write, F&& f) -> decltype(f(std::declval<PgTx&>())) {
  const double started = unix_now();
  for (int attempt = 0;; ++attempt) {
    try {
      if (!conn_) connect();
      auto t = begin(write);
      PgTx tx(*this, *t);
      if constexpr (std::is_void_v<decltype(f(tx))>) {
        f(tx);
        commit(*t);
        return;
      } else {
        auto r = f(tx);
        commit(*t);
        return r;
      }
    } catch (const StorageError&) {
      throw;
    } catch (const std::exception& e) {
      retry_or_throw(e, attempt, started);
    }
  }
}

}  // namespace autocompress
