#include "search/study/study.hpp"

#include <omp.h>
#include <tbb/task_group.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "search/study/study_data.hpp"
#include "storage/heartbeat.hpp"

namespace autocompress {

namespace {

using nlohmann::json;

std::string default_worker() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

std::vector<Baseline> warm_start_baselines(const CompressionSpace& s) {
  std::vector<Baseline> out;
  const auto add = [&](const std::string& name, Knob::Type t, const KnobValue& v) {
    if (auto c = uniform_candidate(s, t, v)) {
      const bool dup =
          std::any_of(out.begin(), out.end(), [&](const Baseline& b) { return b.x == *c; });
      if (!dup && std::any_of(c->begin(), c->end(), [](int i) { return i != 0; }))
        out.push_back({name, *c});
    }
  };
  add("int8 everywhere", Knob::Type::kPrecision, std::string("int8"));
  add("bf16 everywhere", Knob::Type::kPrecision, std::string("bf16"));
  add("4-bit weights", Knob::Type::kWbits, 4.0);
  add("25% uniform pruning", Knob::Type::kPrune, 0.25);
  add("50% uniform pruning", Knob::Type::kPrune, 0.5);
  return out;
}

std::string baseline_name(const CompressionSpace& s, const Candidate& x) {
  for (const auto& b : warm_start_baselines(s))
    if (b.x == x) return b.name;
  return "";
}

Study open_study(Storage& storage, const CompressionProblem& problem, const StudyOptions& o,
                 bool compare_sampler) {
  StudySpec spec = problem.study_spec(o.name);
  spec.sampler = o.sampler;
  spec.sampler_settings = o.sampler_settings;
  spec.user_attrs["seed"] = std::to_string(o.seed);
  spec.user_attrs["warm_start"] = o.warm_start ? "true" : "false";
  const StudyData data = study_data(problem);
  spec.user_attrs["data"] = study_data_json(data).dump();
  if (auto old = storage.find_study(o.name)) {
    const auto differs = [&](const char* what, bool d) {
      if (d)
        throw ConfigError("study", "study '" + o.name + "' exists with another " + what +
                                       "; use the same settings or choose another " +
                                       key_ref("study"));
    };
    differs("model", old->model_sha256 != spec.model_sha256);
    differs("objectives", old->objectives != spec.objectives);
    differs("constraints", old->constraints != spec.constraints);
    differs("search space", old->search_space != spec.search_space);
    if (compare_sampler) {
      differs("sampler",
              old->sampler != spec.sampler || old->sampler_settings != spec.sampler_settings);
      differs("seed", old->user_attrs["seed"] != spec.user_attrs["seed"]);
    }
    const auto normalized = [](const std::string& text) {
      return problem_config_json(parse_problem_config(json::parse(text.empty() ? "{}" : text)));
    };
    differs("configuration",
            normalized(old->user_attrs["config"]) != normalized(spec.user_attrs["config"]));
    if (const auto recorded = recorded_data(*old)) check_same_data(*recorded, data, o.name);
  }
  return storage.create_study(spec, true);
}

// ------------------------------------------------------------------ the runner

struct StudyRunner::Shared {
  std::mutex propose_mu;  // sampler and storage ask: one proposal at a time in this process
  std::mutex print_mu;
  std::atomic<int64_t> finished_in_run{0};
  std::atomic<int64_t> in_flight{0};
};

StudyRunner::StudyRunner(Storage& storage, const CompressionProblem& problem, StudyOptions o)
    : storage_(storage),
      problem_(problem),
      opt_(std::move(o)),
      shared_(std::make_unique<Shared>()) {
  if (opt_.worker_name.empty()) opt_.worker_name = default_worker();
  study_ = open_study(storage, problem, opt_, true);
  cache_ = std::make_unique<StudyCache>(problem, study_);
  sampler_ = make_sampler(opt_.sampler, opt_.seed, opt_.sampler_settings);
}

StudyRunner::~StudyRunner() = default;

Candidate StudyRunner::propose(int64_t number) {
  SamplerContext& ctx = cache_->context();
  ctx.next_number = number;
  if (opt_.warm_start) {
    const auto taken = taken_candidates(ctx);
    for (const auto& b : warm_start_baselines(problem_.space()))
      if (!taken.count(b.x) && cheap_violation(ctx, b.x) == 0) return b.x;
  }
  return sampler_->ask(ctx, 1).at(0);
}

StudyRunner::Asked StudyRunner::ask_one() {
  std::lock_guard lock(shared_->propose_mu);
  return ask_locked();
}

StudyRunner::Asked StudyRunner::ask_locked() {
  const FrozenTrial t = storage_.ask(study_.id, opt_.worker_name);
  cache_->refresh(storage_);  // for the proposal and the front early stopping compares against
  Asked a;
  a.number = t.number;
  if (!t.params.empty()) {
    a.x = candidate_from_params(problem_.space(), t.params);  // a re-queued trial
  } else {
    // Another process may propose the same candidate at the same moment: neither sees the
    // other's until both are recorded. Once they are, at least one of the two sees the other's
    // and proposes again, now avoiding it (a few rounds at most).
    for (int round = 0;; ++round) {
      a.x = propose(t.number);
      storage_.set_params(study_.id, t.number, candidate_params(problem_.space(), a.x));
      if (round == 4 || !proposed_elsewhere(a.x)) break;
    }
  }
  a.recipe_json = recipe_to_json(candidate_to_recipe(problem_.space(), a.x));
  a.baseline = baseline_name(problem_.space(), a.x);
  a.front = cache_->front();
  return a;
}

// Whether a trial other than this process's newest one has candidate x (read afresh).
bool StudyRunner::proposed_elsewhere(const Candidate& x) {
  cache_->refresh(storage_);
  const SamplerContext& ctx = cache_->context();
  size_t n = std::count(ctx.pending.begin(), ctx.pending.end(), x);
  for (const auto& o : ctx.history) n += o.x == x;
  return n > 1;
}

// The trial budget is the study's: its finished trials now, by every process on the database
// (read incrementally), plus this process's trials in flight. Other processes' trials in flight
// are not counted (a dead worker's would hold the budget until its grace ends), so K workers in
// all can end up to K - 1 trials past the budget.
bool StudyRunner::budget_left() {
  if (stop_.load()) return false;
  if (opt_.timeout_s > 0 && unix_now() - t0_ >= opt_.timeout_s) return false;
  if (opt_.trials <= 0) return true;
  cache_->refresh(storage_);
  return cache_->finished() + shared_->in_flight.load() < opt_.trials;
}

void StudyRunner::worker_loop(int threads) {
  omp_set_num_threads(threads);  // oneDNN's OpenMP team in this TBB thread
  for (;;) {
    Asked a;
    {
      std::lock_guard lock(shared_->propose_mu);
      if (!budget_left()) return;
      ++shared_->in_flight;
      try {
        a = ask_locked();
      } catch (...) {
        --shared_->in_flight;
        throw;
      }
    }
    Evaluation ev;
    std::string beat_error;
    {
      Heartbeat hb(storage_, study_.id, a.number, opt_.heartbeat_s);
      ev = problem_.evaluate(
          a.x, threads, [this] { return stop_.load(); }, a.front);
      beat_error = hb.error();
    }
    if (!a.baseline.empty()) ev.result.user_attrs["baseline"] = a.baseline;
    std::string event;
    try {  // a trial failed as stale meanwhile (beat_error) is already recorded: tell refuses
      storage_.tell(study_.id, a.number, ev.result);
    } catch (const std::exception& e) {
      event = "trial " + std::to_string(a.number) + " not recorded: " + e.what() +
              (beat_error.empty() ? "" : " (heartbeat: " + beat_error + ")");
    }
    ++shared_->finished_in_run;
    --shared_->in_flight;
    report(false, std::move(event));
  }
}

StudySummary StudyRunner::run(const ProgressCallback& on_progress) {
  t0_ = unix_now();
  on_progress_ = on_progress;
  {
    std::lock_guard lock(shared_->propose_mu);
    cache_->refresh(storage_);
    hypervolume_reported_ = cache_->summary().hypervolume;
  }
  const int cores =
      opt_.cores > 0 ? opt_.cores : int(std::max(1u, std::thread::hardware_concurrency()));
  const int workers = std::max(1, opt_.workers);
  const int threads = std::max(1, cores / workers);
  if (workers == 1) {
    worker_loop(threads);
  } else {
    tbb::task_group tg;
    for (int w = 0; w < workers; ++w) tg.run([this, threads] { worker_loop(threads); });
    tg.wait();
  }
  report(true, "");
  std::lock_guard lock(shared_->propose_mu);
  cache_->refresh(storage_);
  return cache_->summary();
}

void StudyRunner::report(bool final, std::string event) {
  if (!on_progress_) return;
  StudyProgress p;
  {
    std::lock_guard lock(shared_->propose_mu);
    cache_->refresh(storage_);
    p.study = cache_->summary();
  }
  p.finished_in_run = shared_->finished_in_run.load();
  p.trials_budget = opt_.trials;
  p.timeout_s = opt_.timeout_s;
  p.elapsed_s = unix_now() - t0_;
  p.rate_per_min = p.elapsed_s > 0 ? 60 * double(p.finished_in_run) / p.elapsed_s : 0;
  p.final = final;
  p.event = std::move(event);
  std::lock_guard lock(shared_->print_mu);
  p.front_improved = p.study.hypervolume > hypervolume_reported_;
  hypervolume_reported_ = std::max(hypervolume_reported_, p.study.hypervolume);
  on_progress_(p);
}

// ------------------------------------------------------------------ tell

void tell_values(Storage& storage, const Study& study, int64_t number,
                 const std::vector<double>& values, const std::string& state) {
  TrialResult r;
  r.state = trial_state_from(state);
  if (r.state == TrialState::kComplete && values.size() != study.objectives.size())
    throw ConfigError("values", key_ref("values") + ": study '" + study.name + "' has " +
                                    std::to_string(study.objectives.size()) + " objectives, got " +
                                    std::to_string(values.size()) + " values");
  r.values = values;
  const auto at = [&](const std::string& name) {
    for (size_t j = 0; j < study.objectives.size() && j < values.size(); ++j)
      if (study.objectives[j].name == name) return values[j];
    return std::nan("");
  };
  const json cfg =
      json::parse(study.user_attrs.count("config") ? study.user_attrs.at("config") : "{}");
  const double orig = study.user_attrs.count("original_accuracy")
                          ? std::stod(study.user_attrs.at("original_accuracy"))
                          : std::nan("");
  for (const auto& c : study.constraints) {
    if (c == "accuracy_drop")
      r.constraints.push_back(100 * (orig - at("accuracy")) - cfg.value("max_accuracy_drop", 0.0));
    else if (c == "latency")
      r.constraints.push_back(at("latency_ms") - cfg.value("max_latency_ms", 0.0));
    else if (c == "size")
      r.constraints.push_back(at("size_mb") - cfg.value("max_size_mb", 0.0));
    else if (c == "energy")
      r.constraints.push_back(at("energy_mj") - cfg.value("max_energy_mj", 0.0));
    else
      r.constraints.push_back(std::nan(""));
  }
  if (!values.empty() && !std::isnan(orig) && !std::isnan(at("accuracy")))
    r.metrics["accuracy_drop"] = 100 * (orig - at("accuracy"));
  r.user_attrs["told_by"] = "tell";
  const auto t = storage.find_trial(study.id, number);
  if (t && !t->params.empty() && study.user_attrs.count("config")) {
    const CompressionSpace space = problem_space(parse_problem_config(cfg));
    const Candidate x = candidate_from_params(space, t->params);
    r.user_attrs["recipe"] = recipe_to_json(candidate_to_recipe(space, x));
    if (const std::string b = baseline_name(space, x); !b.empty()) r.user_attrs["baseline"] = b;
  }
  storage.tell(study.id, number, r);
}

}  // namespace autocompress
