#include "search/study/study_cache.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "search/moo/hypervolume.hpp"

namespace autocompress {

namespace {

Observation::State observed_state(TrialState s) {
  switch (s) {
    case TrialState::kComplete:
      return Observation::State::kComplete;
    case TrialState::kPruned:
      return Observation::State::kPruned;
    case TrialState::kFail:
      return Observation::State::kFail;
    default:
      return Observation::State::kRunning;
  }
}

// The trial's params as a candidate of the space; none when it has none or they do not decode.
std::optional<Candidate> decoded(const CompressionProblem& p, const FrozenTrial& t) {
  if (t.params.empty()) return std::nullopt;
  try {
    return candidate_from_params(p.space(), t.params);
  } catch (const UsageError&) {
    return std::nullopt;
  }
}

// A finished trial as the sampler sees it (PRUNED: its values are the partial estimate).
Observation observation_of(const FrozenTrial& t, Candidate x) {
  Observation o;
  o.x = std::move(x);
  o.state = observed_state(t.state);
  if (o.state == Observation::State::kComplete) o.values = t.values;
  if (o.state == Observation::State::kPruned) o.partial = t.values;
  o.constraints = t.constraints;
  o.number = t.number;
  return o;
}

// The context without trials.
SamplerContext empty_context(const CompressionProblem& p) {
  SamplerContext ctx;
  ctx.space = &p.space().space;
  ctx.senses = p.senses();
  ctx.known = p.known_mask();
  ctx.known_values = [&p](const Candidate& c) { return p.known_values(c); };
  if (!p.cheap_constraints(Candidate(p.space().space.size(), 0)).empty())
    ctx.cheap_constraints = [&p](const Candidate& c) { return p.cheap_constraints(c); };
  ctx.reference_point = p.reference_point();
  return ctx;
}

// Whether a trial's values enter the summary's front and best values.
bool summary_point(const FrozenTrial& t, size_t m) {
  return t.state == TrialState::kComplete && t.values.size() == m && is_feasible(t.constraints);
}

// best[j] = the better of best[j] (NaN: none yet) and values[j], per objective sense.
void improve_best(std::vector<double>& best, const std::vector<double>& values,
                  const std::vector<Sense>& sense) {
  for (size_t j = 0; j < best.size(); ++j) {
    const double v = values[j], b = best[j];
    if (std::isnan(b) || (sense[j] == Sense::kMaximize ? v > b : v < b)) best[j] = v;
  }
}

}  // namespace

SamplerContext sampler_context(const CompressionProblem& p,
                               const std::vector<FrozenTrial>& trials) {
  SamplerContext ctx = empty_context(p);
  for (const auto& t : trials) {
    ctx.next_number = std::max(ctx.next_number, t.number + 1);
    auto x = decoded(p, t);
    if (!x) continue;
    if (t.state == TrialState::kRunning || t.state == TrialState::kWaiting)
      ctx.pending.push_back(std::move(*x));
    else
      ctx.history.push_back(observation_of(t, std::move(*x)));
  }
  return ctx;
}

StudySummary summarize(const Study& s, const std::vector<FrozenTrial>& trials) {
  StudySummary r;
  const size_t m = s.objectives.size();
  const auto sense = study_senses(s);
  std::vector<double> pts;
  r.best.assign(m, std::nan(""));
  for (const auto& t : trials) {
    if (t.state == TrialState::kPruned)
      ++r.pruned;
    else if (t.state == TrialState::kFail)
      ++r.failed;
    else if (t.state == TrialState::kRunning)
      ++r.running;
    if (t.state != TrialState::kComplete) continue;
    ++r.complete;
    if (!summary_point(t, m)) continue;
    pts.insert(pts.end(), t.values.begin(), t.values.end());
    improve_best(r.best, t.values, sense);
  }
  if (!pts.empty()) {
    r.front_size = pareto_front(pts, m, sense).size();
    if (s.reference_point.size() == m)
      r.hypervolume = hypervolume(pts, m, s.reference_point, sense);
  }
  return r;
}

// ------------------------------------------------------------------ the incremental view

StudyCache::StudyCache(const CompressionProblem& p, const Study& s)
    : p_(p), s_(s), senses_(study_senses(s)), ctx_(empty_context(p)) {
  best_.assign(s.objectives.size(), std::nan(""));
}

size_t StudyCache::refresh(const Storage& storage) {
  std::vector<int64_t> also;
  for (const auto& [number, u] : unfinished_) also.push_back(number);
  auto trials = storage.trials_since(s_.id, from_, also);
  unfinished_.clear();
  std::vector<FrozenTrial> fresh;
  for (auto& t : trials) {
    from_ = std::max(from_, t.number + 1);
    if (is_finished(t.state))
      fresh.push_back(std::move(t));
    else
      unfinished_.emplace(t.number, Unfinished{t.state, decoded(p_, t)});
  }
  ctx_.pending.clear();
  for (const auto& [number, u] : unfinished_)
    if (u.x) ctx_.pending.push_back(*u.x);
  ctx_.next_number = from_;
  if (!fresh.empty()) {
    add_finished(fresh);
    update_summary_front(fresh);
    update_front(std::move(fresh));
  }
  return trials.size();
}

// Counts, best values and observations (kept in number order: a trial that ran long finishes
// after later-numbered ones).
void StudyCache::add_finished(const std::vector<FrozenTrial>& fresh) {
  const size_t m = s_.objectives.size();
  auto& h = ctx_.history;
  for (const auto& t : fresh) {
    complete_ += t.state == TrialState::kComplete;
    pruned_ += t.state == TrialState::kPruned;
    failed_ += t.state == TrialState::kFail;
    if (summary_point(t, m)) improve_best(best_, t.values, senses_);
    auto x = decoded(p_, t);
    if (!x) continue;
    if (h.empty() || h.back().number < t.number) {
      h.push_back(observation_of(t, std::move(*x)));
      continue;
    }
    const auto at = std::upper_bound(h.begin(), h.end(), t.number,
                                     [](int64_t n, const Observation& o) { return n < o.number; });
    h.insert(at, observation_of(t, std::move(*x)));
  }
}

void StudyCache::update_summary_front(const std::vector<FrozenTrial>& fresh) {
  const size_t m = s_.objectives.size();
  auto all = summary_front_;
  for (const auto& t : fresh)
    if (summary_point(t, m)) all.emplace_back(t.number, t.values);
  if (all.size() == summary_front_.size()) return;
  hypervolume_.reset();
  summary_front_.clear();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<double> pts;
  for (const auto& [number, v] : all) pts.insert(pts.end(), v.begin(), v.end());
  for (size_t i : pareto_front(pts, m, senses_)) summary_front_.push_back(std::move(all[i]));
}

void StudyCache::update_front(std::vector<FrozenTrial> fresh) {
  std::erase_if(fresh, [](const FrozenTrial& t) { return t.state != TrialState::kComplete; });
  if (fresh.empty()) return;
  auto all = std::move(front_trials_);
  front_trials_.clear();
  for (auto& t : fresh) all.push_back(std::move(t));
  std::sort(all.begin(), all.end(),
            [](const FrozenTrial& a, const FrozenTrial& b) { return a.number < b.number; });
  front_ = p_.front_points(all);
  size_t i = 0;  // both in number order
  for (const auto& f : front_) {
    while (all[i].number != f.number) ++i;
    front_trials_.push_back(std::move(all[i]));
  }
}

StudySummary StudyCache::summary() const {
  const size_t m = s_.objectives.size();
  StudySummary r;
  r.complete = complete_;
  r.pruned = pruned_;
  r.failed = failed_;
  for (const auto& [number, u] : unfinished_) r.running += u.state == TrialState::kRunning;
  r.best = best_;
  r.front_size = summary_front_.size();
  if (!summary_front_.empty() && s_.reference_point.size() == m) {
    if (!hypervolume_) {
      std::vector<double> pts;
      for (const auto& [number, v] : summary_front_) pts.insert(pts.end(), v.begin(), v.end());
      hypervolume_ = hypervolume(pts, m, s_.reference_point, senses_);
    }
    r.hypervolume = *hypervolume_;
  }
  return r;
}

}  // namespace autocompress
