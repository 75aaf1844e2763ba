// The error storage throws. It derives from autocompress::Error so that the CLI turns it into a
// message and an exit code in its one place. The kind says who must act:
//   kUsage  a name the user gave (study, --where expression, filter name) is wrong;
//   kData   the file is not ours, is newer than this binary, or is inconsistent;
//   kIo     the file cannot be opened or written;
//   kRuntime the database stayed locked longer than the retry budget.
#pragma once

#include <string>

#include "common/error.hpp"

namespace autocompress {

class StorageError : public Error {
 public:
  StorageError(ErrorKind kind, const std::string& file, const std::string& what)
      : Error(kind, located(file, "", what)) {}
};

}  // namespace autocompress
