#include "storage/types.hpp"

#include <chrono>
#include <ctime>

#include "storage/storage.hpp"
#include "storage/storage_error.hpp"

namespace autocompress {

namespace {
constexpr const char* kStateNames[] = {"RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"};
}

const char* to_string(TrialState s) { return kStateNames[static_cast<int>(s)]; }

TrialState trial_state_from(const std::string& s) {
  for (int i = 0; i < 5; ++i)
    if (s == kStateNames[i]) return static_cast<TrialState>(i);
  throw StorageError(
      ErrorKind::kData, "",
      "unknown trial state '" + s + "' (known: RUNNING, COMPLETE, PRUNED, FAIL, WAITING)");
}

const char* to_string(Direction d) { return d == Direction::kMinimize ? "minimize" : "maximize"; }

Direction direction_from(const std::string& s) {
  if (s == "minimize") return Direction::kMinimize;
  if (s == "maximize") return Direction::kMaximize;
  throw StorageError(ErrorKind::kData, "",
                     "unknown direction '" + s + "' (known: minimize, maximize)");
}

std::vector<Sense> study_senses(const StudySpec& s) {
  std::vector<Sense> out;
  for (const auto& o : s.objectives)
    out.push_back(o.direction == Direction::kMaximize ? Sense::kMaximize : Sense::kMinimize);
  return out;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string utc_time(double unix_seconds) {
  if (unix_seconds <= 0) return "-";
  const std::time_t s = std::time_t(unix_seconds);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string stale_reason(const FrozenTrial& t, double grace_seconds) {
  if (t.lease_until > 0)
    return "stale: the lease of worker '" + t.worker + "' ended at " + utc_time(t.lease_until) +
           " with no result and no heartbeat since " + utc_time(t.heartbeat_at);
  return "stale: worker '" + t.worker + "' stopped sending heartbeats (grace " +
         std::to_string(grace_seconds) + " s)";
}

bool failed_as_stale(const FrozenTrial& t) {
  return t.state == TrialState::kFail &&
         (t.error.rfind("stale: ", 0) == 0 ||
          t.error.find("stopped sending heartbeats") != std::string::npos);
}

Study Storage::get_study(const std::string& name) const {
  if (auto s = find_study(name)) return *s;
  std::string known;
  for (const auto& s : studies()) known += (known.empty() ? "" : ", ") + s.name;
  throw StorageError(ErrorKind::kUsage, "",
                     "unknown study '" + name + "'; known: " + (known.empty() ? "(none)" : known));
}

}  // namespace autocompress
