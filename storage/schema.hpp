// The SQLite schema of autocompress storage: DDL, its version and the migrations, kept apart from
// the storage logic (sqlite_*.cpp). docs/storage.md documents every table.
//
// Versioning: the table schema_version holds one row. A file whose version is newer than
// kSchemaVersion is refused before anything is written; an older one is upgraded by running
// migrations()[v] for v = version .. kSchemaVersion-1 in one transaction. Version 0 is an empty
// file. Old database files are kept as upgrade-test fixtures (tests/storage/fixtures/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace autocompress {

constexpr int kSchemaVersion = 2;

// migrations()[v]: SQL script that upgrades version v to v+1 (also setting schema_version).
const std::vector<std::string>& migrations();

// The CREATE VIEW statement of trials_flat with a column for every objective, metric and
// constraint name of any study (names given in column order, already de-duplicated).
// Objective/metric/constraint names come from the tables, never from user SQL; they are quoted.
struct FlatViewColumn {
  std::string name;
  bool objective = false, metric = false, constraint = false;  // where the value may come from
};
std::string trials_flat_ddl(const std::vector<FlatViewColumn>& columns);
// Adds a row (name, kind) of the flat-columns query to `columns`: kind 0 objective, 1 metric,
// 2 constraint; names of the view's fixed columns are left out.
void add_flat_view_column(std::vector<FlatViewColumn>& columns, const std::string& name,
                          int64_t kind);

// The SQL that lists the view's dynamic columns: rows (name, kind) with kind 0 objective,
// 1 metric, 2 constraint, in view order.
extern const char* const kFlatColumnsQuery;

}  // namespace autocompress
