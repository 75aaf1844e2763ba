// Opening an SQLite storage file. An existing file is first opened read-only and checked (an
// SQLite file, ours, schema version not newer than kSchemaVersion) before anything is written,
// so a refused file stays byte-for-byte unchanged; a read-only open stops there. Otherwise the
// file is reopened for writing, put in WAL mode with the synchronous pragma, and an older schema
// is migrated. Also the trials_flat view, rebuilt whenever new names appear.
#pragma once

#include "storage/sqlite_connection.hpp"

namespace autocompress {

// Opens c.path as c.opt says; returns the schema version of the open file. Throws StorageError:
// kIo (cannot open or create), kData (not SQLite, not ours, newer schema, read-only open of a
// file that needs an upgrade). On failure the connection is closed.
int open_storage_file(SqliteConnection& c);

// Recreates the trials_flat view with a column for every objective, metric and constraint name
// of any study. Runs inside the caller's write transaction.
void rebuild_flat_view(SqliteConnection& c);

}  // namespace autocompress
