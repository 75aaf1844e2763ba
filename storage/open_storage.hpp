// The one place a --db value becomes a Storage: a postgresql:// or postgres:// URI opens a
// PgStorage on that server, anything else with "://" is refused as a URI typo, and a path is an
// SQLite file (SqliteStorage).
#pragma once

#include <memory>
#include <string>

#include "storage/storage.hpp"

namespace autocompress {

struct OpenOptions {
  bool read_only = false;  // queries only: the file or database must exist and is never changed
};

// Throws StorageError as the backend's constructor does; kUsage for an unknown URI scheme.
std::unique_ptr<Storage> open_storage(const std::string& db, const OpenOptions& options = {});

// The --db value as messages may show it: a URI without its password, a path as given.
std::string storage_display_name(const std::string& db);

}  // namespace autocompress
