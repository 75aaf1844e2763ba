// A cheap fingerprint of the files a dataset reads, so that a study notices a changed dataset:
// the number of files, their total size, and a hash of the sorted list of (path relative to the
// source, size). Contents are not read: renaming, adding, removing or resizing a file changes
// it; rewriting a file in place with the same size does not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace autocompress {

struct Fingerprint {
  int64_t files = 0;
  int64_t bytes = 0;
  std::string list_hash;  // 16 hex digits: FNV-1a (64-bit) of "relative path\0size\n" per file
  bool operator==(const Fingerprint&) const = default;
};

// Of `paths` (files), relative to `root` (a directory, or empty for paths as given).
// DataError naming a file that cannot be read.
Fingerprint fingerprint_files(const std::vector<std::string>& paths, const std::string& root);
// "10 files, 31360 bytes, list hash cbf29ce484222325", for messages.
std::string fingerprint_text(const Fingerprint& f);
// Of the files below `source` (a file: itself; a directory: every regular file below it).
Fingerprint fingerprint_source(const std::string& source);

}  // namespace autocompress
