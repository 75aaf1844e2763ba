#include "storage/open_storage.hpp"

#include "storage/pg_connection.hpp"
#include "storage/pg_storage.hpp"
#include "storage/sqlite_storage.hpp"
#include "storage/storage_error.hpp"

namespace autocompress {

std::unique_ptr<Storage> open_storage(const std::string& db, const OpenOptions& options) {
  if (is_postgres_uri(db)) {
    PgOptions o;
    o.read_only = options.read_only;
    return std::make_unique<PgStorage>(db, o);
  }
  if (const size_t scheme = db.find("://"); scheme != std::string::npos)
    throw StorageError(ErrorKind::kUsage, redact_uri(db),
                       "unknown database URI scheme '" + db.substr(0, scheme) +
                           "'; known: postgresql://, postgres:// (a path is an SQLite file)");
  SqliteOptions o;
  o.read_only = options.read_only;
  return std::make_unique<SqliteStorage>(db, o);
}

std::string storage_display_name(const std::string& db) {
  return db.find("://") == std::string::npos ? db : redact_uri(db);
}

}  // namespace autocompress
