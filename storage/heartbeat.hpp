// Keeps a RUNNING trial's heartbeat fresh from a background thread while the worker evaluates it,
// so that fail_stale_trials() (on open and periodically in ask) tells a slow trial from a dead
// worker. Choose the interval well below the storage's grace (e.g. grace / 4).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "storage/storage.hpp"

namespace autocompress {

class Heartbeat {
 public:
  // Starts beating every interval_s seconds. `storage` must outlive this object.
  Heartbeat(Storage& storage, int64_t study_id, int64_t number, double interval_s);
  // Stops and joins the thread (before the worker calls tell).
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // The first error a beat raised (e.g. the trial was failed as stale meanwhile), else empty.
  // The thread stops beating after an error.
  std::string error() const;

 private:
  void loop(double interval_s);

  Storage& storage_;
  int64_t study_id_, number_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string error_;
  std::thread thread_;
};

}  // namespace autocompress
