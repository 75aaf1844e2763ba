// Plain data of studies and trials, shared by every Storage backend, the search and the CLI.
// Values only: a FrozenTrial is a snapshot and never changes after it was returned.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/sense.hpp"

namespace autocompress {

// Optuna's states. WAITING: queued (e.g. re-queued after a crash), not yet taken by a worker.
enum class TrialState { kRunning, kComplete, kPruned, kFail, kWaiting };
const char* to_string(TrialState s);
// Throws StorageError(kData) for an unknown name.
TrialState trial_state_from(const std::string& s);
inline bool is_finished(TrialState s) {
  return s == TrialState::kComplete || s == TrialState::kPruned || s == TrialState::kFail;
}

enum class Direction { kMinimize, kMaximize };
const char* to_string(Direction d);
Direction direction_from(const std::string& s);

struct Objective {
  std::string name;  // also a column of trials_flat and a name in --where
  Direction direction = Direction::kMinimize;
  bool operator==(const Objective&) const = default;
};

// One knob of a recipe: "<layer>/<knob>" -> 0.5 or "int8".
using ParamValue = std::variant<double, std::string>;
struct Param {
  std::string name;
  ParamValue value;
  bool operator==(const Param&) const = default;
};

// Where the numbers of a study were measured.
struct Provenance {
  std::string tool_version, onednn_version, cpu_model, isa;
  int threads = 0;
  bool operator==(const Provenance&) const = default;
};

// What a study is; given to Storage::create_study.
struct StudySpec {
  std::string name;
  std::string model_sha256, model_path;
  std::string dataset, split, target;
  std::vector<Objective> objectives;
  std::vector<double> reference_point;    // hypervolume reference, one per objective (may be empty)
  std::vector<std::string> constraints;   // names; a trial is feasible when every value <= 0
  std::string search_space;               // JSON text describing the knobs
  std::string sampler, sampler_settings;  // name and JSON text
  Provenance provenance;
  std::map<std::string, std::string> user_attrs;
  bool operator==(const StudySpec&) const = default;
};

struct Study : StudySpec {
  int64_t id = -1;
  double created_at = 0;  // Unix seconds
};

// The objectives' directions as the multi-objective math takes them (common/sense.hpp).
std::vector<Sense> study_senses(const StudySpec& s);

// A snapshot of one trial. `values` follow the study's objectives, `constraints` its constraint
// names; both are empty until the trial is told. Missing / NaN numbers read back as NaN.
struct FrozenTrial {
  int64_t study_id = -1;
  int64_t number = -1;  // dense and unique within the study: 0, 1, 2, ...
  TrialState state = TrialState::kRunning;
  std::vector<Param> params;  // sorted by name
  std::vector<double> values;
  std::map<std::string, double> metrics;
  std::vector<double> constraints;
  double started_at = 0, finished_at = 0, heartbeat_at = 0;  // Unix seconds; 0 = not yet
  double lease_until = 0;  // Unix seconds; 0 = no lease (Storage::lease)
  std::string worker;
  std::string error;                     // why it FAILed (or was pruned), else empty
  std::optional<int64_t> requeued_from;  // number of the FAILed trial this one repeats
  std::map<std::string, std::string> user_attrs;
};

// The outcome a worker reports with Storage::tell.
struct TrialResult {
  TrialState state = TrialState::kComplete;  // COMPLETE, PRUNED or FAIL
  std::vector<double> values;                // one per objective (COMPLETE: required)
  std::map<std::string, double> metrics;
  std::vector<double> constraints;  // one per study constraint, or empty
  std::string error;
  std::map<std::string, std::string> user_attrs;
};

}  // namespace autocompress
