// An output a command writes must not be one of the files it reads: `apply -o` naming its input
// model, `export -o` naming the study's database, `run -o` naming its input tensor would replace
// the input with the output. Compared by file identity (device and inode), so another spelling,
// a symlink or a hard link of the input is caught as well.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace autocompress::cli {

// True when `a` and `b` are one existing file, or (not existing yet: another output of the same
// command) the same path once resolved.
inline bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec, ec_a, ec_b;
  if (fs::equivalent(a, b, ec) && !ec) return true;
  const fs::path ra = fs::weakly_canonical(a, ec_a), rb = fs::weakly_canonical(b, ec_b);
  return !ec_a && !ec_b && ra == rb;
}

// Throws UsageError naming both when `output` (the path given to `flag`) is the same file as one
// of `inputs` ({what it is, path}); empty paths are not given and never match.
inline void refuse_input_as_output(const std::string& flag, const std::string& output,
                                   const std::vector<std::pair<std::string, std::string>>& inputs) {
  if (output.empty()) return;
  for (const auto& [what, path] : inputs) {
    if (!path.empty() && same_file(output, path))
      throw UsageError(flag + " " + output + " is the " + what + " " + path +
                       " (the same file): writing it would replace the input; choose another "
                       "output path");
  }
}

}  // namespace autocompress::cli
