#include "hwmodels/measure_cache.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>

#include "common/error.hpp"

namespace autocompress {

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS measurements ("
    " signature TEXT PRIMARY KEY NOT NULL,"
    " median_seconds REAL NOT NULL,"
    " repeats INTEGER NOT NULL,"
    " measured_at TEXT NOT NULL)";

// A prepared statement finalized on every path out.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql, const std::string& path) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw IoError(path, std::string("measurement cache: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s); }
};

CachedMeasurement row(sqlite3_stmt* s) {
  return {reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), sqlite3_column_double(s, 1),
          sqlite3_column_int(s, 2), reinterpret_cast<const char*>(sqlite3_column_text(s, 3))};
}

}  // namespace

std::string default_measure_cache_path() {
  if (const char* p = std::getenv("AC_MEASURE_CACHE"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/autocompress/measurements.db";
}

MeasureCache::MeasureCache(const std::string& path) : path_(path) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw IoError(path, "cannot open the measurement cache: " + msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    exec("PRAGMA journal_mode = WAL");
    exec(kSchema);
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

MeasureCache::~MeasureCache() { sqlite3_close(db_); }

void MeasureCache::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw IoError(path_, "measurement cache: " + msg);
  }
}

std::optional<CachedMeasurement> MeasureCache::get(const std::string& signature) const {
  Stmt q(db_,
         "SELECT signature, median_seconds, repeats, measured_at FROM measurements"
         " WHERE signature = ?1",
         path_);
  sqlite3_bind_text(q.s, 1, signature.c_str(), int(signature.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(q.s);
  if (rc == SQLITE_ROW) return row(q.s);
  if (rc != SQLITE_DONE)
    throw IoError(path_, std::string("measurement cache: ") + sqlite3_errmsg(db_));
  return std::nullopt;
}

void MeasureCache::put(const std::string& signature, double seconds, int repeats) {
  Stmt q(db_,
         "INSERT OR REPLACE INTO measurements (signature, median_seconds, repeats, measured_at)"
         " VALUES (?1, ?2, ?3, datetime('now'))",
         path_);
  sqlite3_bind_text(q.s, 1, signature.c_str(), int(signature.size()), SQLITE_TRANSIENT);
  sqlite3_bind_double(q.s, 2, seconds);
  sqlite3_bind_int(q.s, 3, repeats);
  if (sqlite3_step(q.s) != SQLITE_DONE)
    throw IoError(path_, std::string("measurement cache: ") + sqlite3_errmsg(db_));
}

std::vector<CachedMeasurement> MeasureCache::all() const {
  Stmt q(db_,
         "SELECT signature, median_seconds, repeats, measured_at FROM measurements"
         " ORDER BY signature",
         path_);
  std::vector<CachedMeasurement> out;
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) out.push_back(row(q.s));
  if (rc != SQLITE_DONE)
    throw IoError(path_, std::string("measurement cache: ") + sqlite3_errmsg(db_));
  return out;
}

std::optional<MeasureCache> open_measure_cache(const std::string& path, std::string* why) {
  if (!path.empty()) return std::optional<MeasureCache>(std::in_place, path);
  try {
    return std::optional<MeasureCache>(std::in_place);
  } catch (const IoError& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

}  // namespace autocompress
