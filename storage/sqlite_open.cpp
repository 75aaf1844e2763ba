#include "storage/sqlite_open.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "storage/filter.hpp"
#include "storage/schema.hpp"

namespace autocompress {
namespace {

using Query = SqliteConnection::Query;

// The tables every version of our schema has (version 1's); a file without one of them is not
// ours, whatever its schema_version says.
const std::set<std::string>& our_tables() {
  static const std::set<std::string> k = {"schema_version",
                                          "studies",
                                          "study_objectives",
                                          "study_constraints",
                                          "study_metrics",
                                          "study_user_attrs",
                                          "trials",
                                          "trial_params",
                                          "trial_values",
                                          "trial_metrics",
                                          "trial_constraints",
                                          "trial_user_attrs"};
  return k;
}

[[noreturn]] void not_ours(const SqliteConnection& c, const std::string& why) {
  throw StorageError(
      ErrorKind::kData, c.path,
      "an SQLite database, but not an autocompress storage (" + why + "); refusing to change it");
}

// The schema version of the open file: 0 for an empty database. Throws for foreign files and for
// a stored version that is not one of ours (read as 64 bits: a version is never truncated into
// range), and for one newer than kSchemaVersion.
int read_version(SqliteConnection& c) {
  std::set<std::string> tables;
  {
    Query q(c, "SELECT name FROM sqlite_schema WHERE type = 'table'", false);
    while (q.step()) tables.insert(q.text(0));
  }
  if (tables.empty()) return 0;
  if (!tables.count("schema_version")) not_ours(c, "no schema_version table");
  for (const auto& t : our_tables())
    if (!tables.count(t)) not_ours(c, "no " + t + " table");
  Query q(c, "SELECT version, typeof(version) FROM schema_version", false);
  if (!q.step()) throw StorageError(ErrorKind::kData, c.path, "schema_version table is empty");
  const std::string type = q.text(1);
  const int64_t v = q.integer(0);
  if (type != "integer" || v < 1)
    throw StorageError(ErrorKind::kData, c.path,
                       "schema_version holds " + (type == "integer" ? std::to_string(v) : type) +
                           ", not a schema version (1 or more); the file was not changed");
  if (v > kSchemaVersion)
    throw StorageError(ErrorKind::kData, c.path,
                       "written by a newer autocompress (schema version " + std::to_string(v) +
                           ", this binary knows up to " + std::to_string(kSchemaVersion) +
                           "); upgrade autocompress; the file was not changed");
  return int(v);
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

// Whether a read-only open must not use SQLite's shared-memory file: a WAL file needs `-shm` beside
// it, which SQLite cannot create in a directory we may not write to ("attempt to write a
// readonly database"). With neither -wal nor -shm there, no writer has the file open in WAL mode,
// so it is read as immutable (a writer that starts while we read is not seen).
bool must_read_immutable(const std::string& path) {
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  if (dir.empty()) dir = ".";
  struct stat st {};
  return ::access(dir.c_str(), W_OK) != 0 && ::stat((path + "-wal").c_str(), &st) != 0 &&
         ::stat((path + "-shm").c_str(), &st) != 0;
}

// The version of an existing file, read without writing (a refused file stays unchanged). A
// read-only open keeps the connection; otherwise it is closed for the writing one.
int check_existing(SqliteConnection& c) {
  c.open_connection(SQLITE_OPEN_READONLY, c.opt.read_only && must_read_immutable(c.path));
  int v = 0;
  try {
    v = c.transaction(false, [&] { return read_version(c); });
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
