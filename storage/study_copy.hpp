// copy-study: one study, exactly, from any storage into a backend that can import (SqliteStorage,
// PgStorage): every study attribute and created_at, and every trial with its number, state,
// params, values, metrics, constraints, user attributes, worker, timestamps, lease and re-queue
// link.
#pragma once

#include <string>
#include <vector>

#include "storage/storage.hpp"

namespace autocompress {

// A backend that writes a study as given (the target of copy_study).
class StudyImport {
 public:
  virtual ~StudyImport() = default;
  // Writes `study` (its id is ignored; its created_at kept) and `trials` exactly as given, in
  // one transaction: all or nothing. StorageError(kUsage) when a study of that name exists.
  virtual Study import_study(const Study& study, const std::vector<FrozenTrial>& trials) = 0;
};

// Copies study `name` of `from` into `to`, which must implement StudyImport (else
// StorageError(kUsage)); refuses (kUsage, nothing written) when `to` has a study of that name.
// Returns the copy as `to` stored it.
Study copy_study(const Storage& from, Storage& to, const std::string& name);

}  // namespace autocompress
