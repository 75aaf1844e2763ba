// Reading a whole file into memory, with the typed error every part reports when it cannot.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "common/error.hpp"

namespace autocompress {

// The bytes of the file at `path`. Throws IoError(path, cannot_open) when it cannot be opened
// and IoError(path, "read failed") when reading it fails.
inline std::string read_file(const std::string& path,
                             const std::string& cannot_open = "cannot open for reading") {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, cannot_open);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path, "read failed");
  return ss.str();
}

}  // namespace autocompress
