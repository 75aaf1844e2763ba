#include "storage/heartbeat.hpp"

#include <chrono>

namespace autocompress {

Heartbeat::Heartbeat(Storage& storage, int64_t study_id, int64_t number, double interval_s)
    : storage_(storage), study_id_(study_id), number_(number) {
  thread_ = std::thread([this, interval_s] { loop(interval_s); });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string Heartbeat::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void Heartbeat::loop(double interval_s) {
  const auto interval = std::chrono::duration<double>(interval_s);
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    std::string err;
    try {
      storage_.heartbeat(study_id_, number_);
    } catch (const std::exception& e) {
      err = e.what();
    }
    lock.lock();
    if (!err.empty()) {
      error_ = err;
      return;
    }
  }
}

}  // namespace autocompress
