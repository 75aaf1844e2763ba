#include "storage/study_copy.hpp"

#include "storage/storage_error.hpp"

namespace autocompress {

Study copy_study(const Storage& from, Storage& to, const std::string& name) {
  auto* import = dynamic_cast<StudyImport*>(&to);
  if (!import)
    throw StorageError(ErrorKind::kUsage, "", "the target storage cannot import a study");
  const Study s = from.get_study(name);
  return import->import_study(s, from.trials(s.id));
}

}  // namespace autocompress
