// Storage in process memory: the reference backend of the conformance suite, and the storage of
// searches that need no file. Thread-safe (one mutex); not shared across processes.
#pragma once

#include <map>
#include <mutex>
#include <set>

#include "storage/storage.hpp"

namespace autocompress {

class InMemoryStorage final : public Storage {
 public:
  Study create_study(const StudySpec& spec, bool load_if_exists = false) override;
  std::vector<Study> studies() const override;
  std::optional<Study> find_study(const std::string& name) const override;
  void set_study_user_attr(int64_t study_id, const std::string& key,
                           const std::string& value) override;
  std::vector<std::string> metric_names(int64_t study_id) const override;

  FrozenTrial ask(int64_t study_id, const std::string& worker) override;
  void set_params(int64_t study_id, int64_t number, const std::vector<Param>& params) override;
  void heartbeat(int64_t study_id, int64_t number) override;
  void lease(int64_t study_id, int64_t number, double seconds) override;
  void tell(int64_t study_id, int64_t number, const TrialResult& result) override;
  int fail_stale_trials(double grace_seconds) override;

  std::optional<FrozenTrial> find_trial(int64_t study_id, int64_t number) const override;
  std::vector<FrozenTrial> trials(int64_t study_id, const Filter* where = nullptr) const override;
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t from,
                                        std::span<const int64_t> also = {}) const override;

 private:
  struct StudyData {
    Study study;
    std::vector<FrozenTrial> trials;  // index == number
    std::set<std::string> metrics;
  };
  StudyData& data(int64_t study_id);
  const StudyData& data(int64_t study_id) const;
  FrozenTrial& running(int64_t study_id, int64_t number);

  mutable std::mutex mu_;
  std::vector<StudyData> studies_;  // index == id
};

// Checks shared by the backends: throw StorageError(kUsage) on a malformed spec or result.
void validate_spec(const StudySpec& spec);
void validate_result(const Study& study, int64_t number, const TrialResult& result);

}  // namespace autocompress
