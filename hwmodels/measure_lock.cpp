#include "hwmodels/measure_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace autocompress {

std::string measure_lock_path() {
  const char* env = std::getenv("AC_MEASURE_LOCK");
  return env && *env ? env : "/tmp/autocompress-measure.lock";
}

MeasureLock::MeasureLock(const std::string& path) {
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    error_ = "cannot open " + path + ": " + std::strerror(errno);
    return;
  }
  int rc;
  while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    error_ = "cannot lock " + path + ": " + std::strerror(errno);
    ::close(fd);
    return;
  }
  fd_ = fd;
  waited_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

MeasureLock::~MeasureLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor of the description releases it
}

}  // namespace autocompress
