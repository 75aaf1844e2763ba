// One measurer at a time on this machine: the search's timed runs (hwmodels/interleaved.hpp) of
// every worker thread and every process hold an exclusive flock(2) on one file while they
// measure, so two workers never time their candidates against each other's load. The file is
// $AC_MEASURE_LOCK, or /tmp/autocompress-measure.lock (one per machine, whatever the study or its
// cache); it is created when missing and never removed. The lock is released when the holder
// goes away, even when its process is killed.
#pragma once

#include <string>

namespace autocompress {

// The lock file every process of this machine uses (see above).
std::string measure_lock_path();

// Holds the lock from construction to destruction (blocks until it is free). Separate
// MeasureLocks of one process exclude each other too (each opens its own file description).
// A file that cannot be opened or locked (read-only /tmp) does not throw: locked() is false and
// error() says why, so the caller records that its measurement was not exclusive.
class MeasureLock {
 public:
  explicit MeasureLock(const std::string& path = measure_lock_path());
  ~MeasureLock();
  MeasureLock(const MeasureLock&) = delete;
  MeasureLock& operator=(const MeasureLock&) = delete;

  bool locked() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  double waited_s() const { return waited_s_; }  // time spent waiting for another measurer

 private:
  int fd_ = -1;
  std::string error_;
  double waited_s_ = 0;
};

}  // namespace autocompress
