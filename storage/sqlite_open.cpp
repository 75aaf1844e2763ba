#include "storage/sqlite_open.hpp"

#include <sys/stat.h>

#include <vector>

#include "storage/filter.hpp"
#include "storage/schema.hpp"

namespace autocompress {
namespace {

using Query = SqliteConnection::Query;

// The schema version of the open file: 0 for an empty database. Throws for foreign files.
int read_version(SqliteConnection& c) {
  int tables = 0;
  bool has_version = false;
  {
    Query q(c, "SELECT name FROM sqlite_schema WHERE type = 'table'", false);
    while (q.step()) {
      ++tables;
      if (q.text(0) == "schema_version") has_version = true;
    }
  }
  if (!has_version) {
    if (tables > 0)
      throw StorageError(ErrorKind::kData, c.path,
                         "an SQLite database, but not an autocompress storage (no schema_version "
                         "table); refusing to change it");
    return 0;
  }
  Query q(c, "SELECT version FROM schema_version", false);
  if (!q.step()) throw StorageError(ErrorKind::kData, c.path, "schema_version table is empty");
  return int(q.integer(0));
}

void check_version(const SqliteConnection& c, int v) {
  if (v > kSchemaVersion)
    throw StorageError(ErrorKind::kData, c.path,
                       "written by a newer autocompress (schema version " + std::to_string(v) +
                           ", this binary knows up to " + std::to_string(kSchemaVersion) +
                           "); upgrade autocompress; the file was not changed");
}

void set_pragmas(SqliteConnection& c) {
  // journal_mode needs the lock briefly when several workers open at once: retry on busy.
  for (int attempt = 0;; ++attempt) {
    try {
      Query q(c, "PRAGMA journal_mode = WAL", false);
      if (q.step() && q.text(0) != "wal")
        throw StorageError(ErrorKind::kIo, c.path,
                           "cannot switch to WAL mode (got " + q.text(0) + ")");
      break;
    } catch (const SqliteBusy&) {
      if (attempt > 1000) throw StorageError(ErrorKind::kRuntime, c.path, "database stayed locked");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  c.exec_script(c.opt.full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

// The version of an existing file, read without writing (a refused file stays unchanged). A
// read-only open keeps the connection; otherwise it is closed for the writing one.
int check_existing(SqliteConnection& c) {
  c.open_connection(SQLITE_OPEN_READONLY);
  int v = 0;
  try {
    v = c.transaction(false, [&] { return read_version(c); });
    check_version(c, v);
    // Versions >= 1 read fine: columns added later read as their defaults (lease_until).
    if (c.opt.read_only && v < 1)
      throw StorageError(
          ErrorKind::kData, c.path,
          "schema version " + std::to_string(v) + " needs an upgrade; open it once for writing");
  } catch (...) {
    c.close();
    throw;
  }
  if (!c.opt.read_only) c.close();
  return v;
}

}  // namespace

int open_storage_file(SqliteConnection& c) {
  struct stat st {};
  const bool exists = ::stat(c.path.c_str(), &st) == 0;
  if (c.opt.read_only && !exists) throw StorageError(ErrorKind::kIo, c.path, "no such file");
  if (c.opt.read_only && st.st_size == 0)
    throw StorageError(ErrorKind::kData, c.path, "empty file, not an autocompress storage yet");
  if (exists && st.st_size > 0) {
    const int v = check_existing(c);
    if (c.opt.read_only) return v;
  }
  c.open_connection(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  try {
    set_pragmas(c);
    c.transaction(true, [&] {
      const int v = read_version(c);
      check_version(c, v);
      for (int i = v; i < kSchemaVersion; ++i) c.exec_script(migrations()[size_t(i)]);
      if (v < kSchemaVersion) rebuild_flat_view(c);
    });
  } catch (...) {
    c.close();
    throw;
  }
  return kSchemaVersion;
}

void rebuild_flat_view(SqliteConnection& c) {
  std::vector<FlatViewColumn> cols;
  {
    Query q(c, kFlatColumnsQuery, false);
    while (q.step()) add_flat_view_column(cols, q.text(0), q.integer(1));
  }
  c.exec_script("DROP VIEW IF EXISTS trials_flat");
  c.exec_script(trials_flat_ddl(cols));
}

}  // namespace autocompress
