#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

namespace autocompress {
namespace {

namespace fs = std::filesystem;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Opens a temporary beside `target` that did not exist before (O_EXCL): ".<name>.tmp-<pid>-<n>".
int open_temporary(const fs::path& target, std::string& tmp) {
  static std::atomic<unsigned> counter{0};
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  for (int attempt = 0;; ++attempt) {
    tmp = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++)))
              .string();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST || attempt >= 100) return fd;
  }
}

// False with errno set when a write fails.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;
      return false;
    }
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

// Makes the rename itself durable; best effort (some file systems refuse fsync on a directory).
void sync_directory(const fs::path& target) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const fs::path target(path);
  if (target.filename().empty()) throw IoError(path, "cannot write: the path names a directory");
  std::string tmp;
  const int fd = open_temporary(target, tmp);
  if (fd < 0) throw IoError(path, errno_text("cannot create a temporary file beside it"));
  std::string failed;
  if (!write_all(fd, bytes)) failed = errno_text("write failed");
  if (failed.empty() && ::fsync(fd) != 0) failed = errno_text("fsync failed");
  if (::close(fd) != 0 && failed.empty()) failed = errno_text("close failed");
  if (failed.empty() && ::rename(tmp.c_str(), path.c_str()) != 0)
    failed = errno_text("cannot rename " + tmp + " over it");
  if (!failed.empty()) {
    ::unlink(tmp.c_str());
    throw IoError(path, failed);
  }
  sync_directory(target);
}

}  // namespace autocompress
