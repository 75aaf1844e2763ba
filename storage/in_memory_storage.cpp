#include "storage/in_memory_storage.hpp"

#include <algorithm>

#include "storage/filter.hpp"
#include "storage/storage_error.hpp"

namespace autocompress {

void validate_spec(const StudySpec& spec) {
  auto bad = [&](const std::string& what) {
    throw StorageError(ErrorKind::kUsage, "", "study '" + spec.name + "': " + what);
  };
  if (spec.name.empty()) bad("the name must not be empty");
  if (spec.objectives.empty()) bad("needs at least one objective");
  if (!spec.reference_point.empty() && spec.reference_point.size() != spec.objectives.size())
    bad("reference point has " + std::to_string(spec.reference_point.size()) + " values for " +
        std::to_string(spec.objectives.size()) + " objectives");
}

void validate_result(const Study& study, int64_t number, const TrialResult& r) {
  auto bad = [&](const std::string& what) {
    throw StorageError(ErrorKind::kUsage, "",
                       "study '" + study.name + "' trial " + std::to_string(number) + ": " + what);
  };
  if (!is_finished(r.state))
    bad(std::string("tell needs COMPLETE, PRUNED or FAIL, got ") + to_string(r.state));
  if (r.state == TrialState::kComplete && r.values.size() != study.objectives.size())
    bad("COMPLETE needs " + std::to_string(study.objectives.size()) + " objective values, got " +
        std::to_string(r.values.size()));
  if (r.values.size() > study.objectives.size())
    bad(std::to_string(r.values.size()) + " values for " + std::to_string(study.objectives.size()) +
        " objectives");
  if (!r.constraints.empty() && r.constraints.size() != study.constraints.size())
    bad(std::to_string(r.constraints.size()) + " constraint values for " +
        std::to_string(study.constraints.size()) + " constraints");
}

namespace {
[[noreturn]] void not_running(const Study& s, const FrozenTrial& t) {
  throw StorageError(ErrorKind::kData, "",
                     "study '" + s.name + "' trial " + std::to_string(t.number) + " is " +
                         to_string(t.state) + "; only RUNNING trials can change");
}
}  // namespace

InMemoryStorage::StudyData& InMemoryStorage::data(int64_t id) {
  if (id < 0 || size_t(id) >= studies_.size())
    throw StorageError(ErrorKind::kUsage, "", "unknown study id " + std::to_string(id));
  return studies_[size_t(id)];
}
const InMemoryStorage::StudyData& InMemoryStorage::data(int64_t id) const {
  return const_cast<InMemoryStorage*>(this)->data(id);
}

FrozenTrial& InMemoryStorage::running(int64_t study_id, int64_t number) {
  auto& d = data(study_id);
  if (number < 0 || size_t(number) >= d.trials.size())
    throw StorageError(ErrorKind::kUsage, "",
                       "study '" + d.study.name + "' has no trial " + std::to_string(number));
  auto& t = d.trials[size_t(number)];
  if (t.state != TrialState::kRunning) not_running(d.study, t);
  return t;
}

Study InMemoryStorage::create_study(const StudySpec& spec, bool load_if_exists) {
  validate_spec(spec);
  std::lock_guard lock(mu_);
  for (const auto& d : studies_) {
    if (d.study.name != spec.name) continue;
    if (load_if_exists && d.study.objectives == spec.objectives) return d.study;
    throw StorageError(ErrorKind::kUsage, "",
                       "study '" + spec.name + "' already exists" +
                           (load_if_exists ? " with other objectives" : ""));
  }
  StudyData d;
  static_cast<StudySpec&>(d.study) = spec;
  d.study.id = int64_t(studies_.size());
  d.study.created_at = unix_now();
  studies_.push_back(d);
  return d.study;
}

std::vector<Study> InMemoryStorage::studies() const {
  std::lock_guard lock(mu_);
  std::vector<Study> out;
  for (const auto& d : studies_) out.push_back(d.study);
  return out;
}

std::optional<Study> InMemoryStorage::find_study(const std::string& name) const {
  std::lock_guard lock(mu_);
  for (const auto& d : studies_)
    if (d.study.name == name) return d.study;
  return std::nullopt;
}

void InMemoryStorage::set_study_user_attr(int64_t id, const std::string& k, const std::string& v) {
  std::lock_guard lock(mu_);
  data(id).study.user_attrs[k] = v;
}

std::vector<std::string> InMemoryStorage::metric_names(int64_t id) const {
  std::lock_guard lock(mu_);
  const auto& m = data(id).metrics;
  return {m.begin(), m.end()};
}

FrozenTrial InMemoryStorage::ask(int64_t study_id, const std::string& worker) {
  std::lock_guard lock(mu_);
  auto& d = data(study_id);
  const double now = unix_now();
  for (auto& t : d.trials) {
    if (t.state != TrialState::kWaiting) continue;
    t.state = TrialState::kRunning;
    t.worker = worker;
    t.started_at = t.heartbeat_at = now;
    t.lease_until = 0;
    return t;
  }
  FrozenTrial t;
  t.study_id = study_id;
  t.number = int64_t(d.trials.size());
  t.worker = worker;
  t.started_at = t.heartbeat_at = now;
  d.trials.push_back(t);
  return t;
}

void InMemoryStorage::set_params(int64_t study_id, int64_t number,
                                 const std::vector<Param>& params) {
  std::lock_guard lock(mu_);
  auto& t = running(study_id, number);
  t.params = params;
  std::sort(t.params.begin(), t.params.end(),
            [](const Param& a, const Param& b) { return a.name < b.name; });
}

void InMemoryStorage::heartbeat(int64_t study_id, int64_t number) {
  std::lock_guard lock(mu_);
  running(study_id, number).heartbeat_at = unix_now();
}

void InMemoryStorage::lease(int64_t study_id, int64_t number, double seconds) {
  std::lock_guard lock(mu_);
  auto& t = running(study_id, number);
  t.heartbeat_at = unix_now();
  t.lease_until = seconds > 0 ? t.heartbeat_at + seconds : 0;
}

void InMemoryStorage::tell(int64_t study_id, int64_t number, const TrialResult& r) {
  std::lock_guard lock(mu_);
  auto& t = running(study_id, number);
  auto& d = data(study_id);
  validate_result(d.study, number, r);
  t.state = r.state;
  t.values = r.values;
  t.metrics = r.metrics;
  t.constraints = r.constraints;
  t.error = r.error;
  for (const auto& [k, v] : r.user_attrs) t.user_attrs[k] = v;
  t.finished_at = unix_now();
  for (const auto& [k, v] : r.metrics) d.metrics.insert(k);
}

int InMemoryStorage::fail_stale_trials(double grace) {
  std::lock_guard lock(mu_);
  const double now = unix_now();
  int n = 0;
  for (auto& d : studies_) {
    const size_t count = d.trials.size();
    for (size_t i = 0; i < count; ++i) {
      auto& t = d.trials[i];
      if (t.state != TrialState::kRunning || t.heartbeat_at >= now - grace || t.lease_until > now)
        continue;
      t.state = TrialState::kFail;
      t.error = stale_reason(t, grace);
      t.finished_at = now;
      ++n;
      if (t.requeued_from) continue;
      FrozenTrial w;
      w.study_id = t.study_id;
      w.number = int64_t(d.trials.size());
      w.state = TrialState::kWaiting;
      w.params = t.params;
      w.requeued_from = t.number;
      d.trials.push_back(std::move(w));
    }
  }
  return n;
}

std::optional<FrozenTrial> InMemoryStorage::find_trial(int64_t study_id, int64_t number) const {
  std::lock_guard lock(mu_);
  const auto& d = data(study_id);
  if (number < 0 || size_t(number) >= d.trials.size()) return std::nullopt;
  return d.trials[size_t(number)];
}

std::vector<FrozenTrial> InMemoryStorage::trials_since(int64_t study_id, int64_t from,
                                                       std::span<const int64_t> also) const {
  std::lock_guard lock(mu_);
  const auto& d = data(study_id);
  std::set<int64_t> numbers(also.begin(), also.end());
  for (int64_t n = std::max<int64_t>(0, from); n < int64_t(d.trials.size()); ++n) numbers.insert(n);
  std::vector<FrozenTrial> out;
  for (int64_t n : numbers)
    if (n >= 0 && n < int64_t(d.trials.size())) out.push_back(d.trials[size_t(n)]);
  return out;
}

std::vector<FrozenTrial> InMemoryStorage::trials(int64_t study_id, const Filter* where) const {
  std::lock_guard lock(mu_);
  const auto& d = data(study_id);
  if (!where) return d.trials;
  const auto cols = flat_columns(d.study, {d.metrics.begin(), d.metrics.end()});
  std::vector<std::string> known;
  for (const auto& c : cols) known.push_back(c.name);
  where->check_names(known);
  std::vector<FrozenTrial> out;
  for (const auto& t : d.trials) {
    auto lookup = [&](const std::string& name) -> std::optional<double> {
      for (const auto& c : cols)
        if (c.name == name) return column_value(c, t);
      return std::nullopt;
    };
    if (where->matches(lookup)) out.push_back(t);
  }
  return out;
}

}  // namespace autocompress
