// The PostgreSQL schema of autocompress storage: DDL, its version and the migrations, and opening
// a database (docs/storage.md documents the tables; they mirror the SQLite ones, with DOUBLE
// PRECISION times and values, NaN stored as NULL).
//
// Versioning: the table autocompress_schema holds one row. A database whose version is newer
// than kPgSchemaVersion is refused before anything is written; a database with tables of its own
// and no autocompress_schema is another application's and is refused unchanged; an empty one
// gets the schema, created under an advisory lock so that many workers may open it at once.
#pragma once

#include "storage/pg_connection.hpp"

namespace autocompress {

constexpr int kPgSchemaVersion = 1;

// Checks the database (read-only first), creates or upgrades the schema unless read-only.
// Returns the version.
int open_pg_database(PgConnection& c);

// Drops and recreates the trials_flat view over every objective, metric and constraint name of
// any study. Inside the caller's write transaction; serialized by an advisory lock.
void rebuild_pg_flat_view(PgTx& tx);

}  // namespace autocompress
