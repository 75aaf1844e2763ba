#include "storage/sqlite_connection.hpp"

#include <csignal>
#include <cstdlib>

namespace autocompress {
namespace {

bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

}  // namespace

SqliteConnection::SqliteConnection(std::string file, SqliteOptions options)
    : path(std::move(file)), opt(std::move(options)) {
  if (const char* k = std::getenv("AC_STORAGE_KILL_AFTER")) kill_after = std::atoll(k);
}

void SqliteConnection::fail(int rc, const std::string& what) const {
  if (is_busy(rc)) throw SqliteBusy{};
  const int primary = rc & 0xff;
  const ErrorKind kind =
      primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT ? ErrorKind::kData : ErrorKind::kIo;
  std::string msg = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (primary == SQLITE_NOTADB) msg = "not an SQLite database (" + msg + ")";
  throw StorageError(kind, path, msg);
}

void SqliteConnection::counted() {
  ++statements;
  if (kill_after > 0 && statements >= kill_after) std::raise(SIGKILL);
  if (opt.after_statement) opt.after_statement(statements);
}

SqliteConnection::Query::Query(SqliteConnection& c, const std::string& sql, bool cached)
    : c_(c), cached_(cached) {
  if (cached) {
    auto it = c.cache.find(sql);
    if (it != c.cache.end()) s_ = it->second;
  }
  if (!s_) {
    const int rc = sqlite3_prepare_v2(c.db, sql.c_str(), int(sql.size()), &s_, nullptr);
    if (rc != SQLITE_OK) c.fail(rc, "preparing '" + sql.substr(0, 60) + "'");
    if (cached) c.cache[sql] = s_;
  }
}

SqliteConnection::Query::~Query() {
  if (cached_) {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  } else {
    sqlite3_finalize(s_);
  }
}

bool SqliteConnection::Query::step() {
  const int rc = sqlite3_step(s_);
  if (!stepped_) {
    stepped_ = true;
    c_.counted();
  }
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  c_.fail(rc, "running '" + std::string(sqlite3_sql(s_)).substr(0, 60) + "'");
}

void SqliteConnection::exec_script(const std::string& sql) {
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

void SqliteConnection::open_connection(int flags, bool immutable) {
  std::string name = path;
  if (immutable) {
    name = path.starts_with('/') ? "file://" : "file:";  // "file:///abs": no authority
    for (char ch : path) {
      static const char* const kHex = "0123456789ABCDEF";
      const auto b = static_cast<unsigned char>(ch);
      if (ch == '%' || ch == '?' || ch == '#' || b < 0x20 || b >= 0x7F) {
        name += '%';
        name += kHex[b >> 4];
        name += kHex[b & 15];
      } else {
        name += ch;
      }
    }
    name += "?immutable=1";
    flags |= SQLITE_OPEN_URI;
  }
  const int rc = sqlite3_open_v2(name.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    close();
    throw StorageError(ErrorKind::kIo, path, "cannot open: " + msg);
  }
  sqlite3_busy_timeout(db, opt.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
}

void SqliteConnection::close() {
  for (auto& [sql, s] : cache) sqlite3_finalize(s);
  cache.clear();
  if (db) sqlite3_close_v2(db);
  db = nullptr;
}

void SqliteConnection::rollback() {
  if (db && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace autocompress
