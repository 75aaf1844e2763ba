#include "storage/types.hpp"

#include <chrono>

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

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Study Storage::get_study(const std::string& name) const {
  if (auto s = find_study(name)) return *s;
  std::string known;
  for (const auto& s : studies()) known += (known.empty() ? "" : ", ") + s.name;
  throw StorageError(ErrorKind::kUsage, "",
                     "unknown study '" + name + "'; known: " + (known.empty() ? "(none)" : known));
}

}  // namespace autocompress
