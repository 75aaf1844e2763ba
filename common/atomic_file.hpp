// Writing a file so that no reader ever sees it half-written: every file the tool writes (models,
// recipes, reports, exports, tensors, profiles) goes through here.
#pragma once

#include <string>
#include <string_view>

namespace autocompress {

// Writes `bytes` to a new temporary file in the directory of `path` (so the rename cannot cross
// file systems), flushes it to disk (fsync) and renames it over `path`, then syncs the
// directory. A reader sees the old file or the complete new one, never a part; on any failure the
// temporary is removed and an existing file at `path` is left untouched. The new file gets the
// permissions of a plain create (0666 less the umask). Throws IoError(path, what failed).
// Thread-safe: concurrent writers of one path each use their own temporary; the last rename wins.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace autocompress
