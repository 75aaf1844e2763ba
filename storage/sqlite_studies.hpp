// Studies in an SQLite storage file: listed, found by name, created with their objectives,
// constraints and user attributes, user attributes set, metric names listed. A study's
// objectives and constraints never change, so a study read by id is kept. Every call runs inside
// the caller's transaction.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "storage/sqlite_connection.hpp"

namespace autocompress {

class SqliteStudies {
 public:
  explicit SqliteStudies(SqliteConnection& c) : c_(c) {}

  // Every study in id order, or the one named *name (empty when none).
  std::vector<Study> load(const std::string* name);
  // Inserts a new study (its name not taken) and rebuilds the trials_flat view.
  // created_at 0: now.
  Study insert(const StudySpec& spec, double created_at = 0);
  // StorageError kUsage for an unknown id.
  Study by_id(int64_t id);
  // The study by_id read before, or nullptr.
  const Study* cached(int64_t id) const;
  // The names of the metrics the study's trials reported, sorted.
  std::vector<std::string> metric_names(int64_t study_id);
  void set_user_attr(int64_t study_id, const std::string& key, const std::string& value);

 private:
  using Query = SqliteConnection::Query;
  std::vector<Study> read_rows(const std::string* name);
  void read_children(Study& s);

  SqliteConnection& c_;
  std::map<int64_t, Study> cache_;  // objectives and constraints never change
};

}  // namespace autocompress
