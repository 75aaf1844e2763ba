#include "search/study/problem.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "compressors/apply.hpp"
#include "compressors/runnable.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/onednn_executor.hpp"
#include "hwmodels/measure.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double known_value(const std::string& o, const KnownObjectives& k) {
  if (o == "latency") return k.latency_s * 1e3;
  if (o == "energy") return k.energy_j * 1e3;
  if (o == "size") return k.size_bytes / 1e6;
  return std::nan("");
}

}  // namespace

// ------------------------------------------------------------------ config

std::string resolved_latency_model(const ProblemConfig& c, const std::string& target) {
  if (c.latency_model == "measured" && target != "host")
    throw UsageError(
        "config: latency_model 'measured' needs target host (the measured model of "
        "this machine), got target '" +
        target + "'");
  // auto = the roofline until the measured model has been validated inside the search on a quiet
  // machine: on the loaded machine it ranked candidates worse (BENCHMARKS.md "The search's latency
  // model") and a warm-up taken under load stays in the cache.
  if (c.latency_model == "auto") return "roofline";
  return c.latency_model;
}

// ------------------------------------------------------------------ statistics

bool cannot_meet(const PairedDrop& d, double max_drop_points, double z) {
  if (max_drop_points <= 0 || d.n == 0) return false;
  return d.drop - z * d.se > max_drop_points;
}

int64_t dominated_for_sure(const PairedDrop& d, std::span<const double> known,
                           std::span<const Sense> sense, std::span<const FrontPoint> front,
                           double z) {
  if (d.n == 0) return -1;
  const double lower = d.drop - z * d.se;  // the candidate's drop is at least this, for sure
  for (size_t i = 0; i < front.size(); ++i) {
    const FrontPoint& f = front[i];
    if (f.values.size() != known.size() || !(f.drop < lower)) continue;
    bool as_good = true;
    for (size_t j = 0; j < known.size() && as_good; ++j)
      if (!std::isnan(known[j]))
        as_good = sense[j] == Sense::kMaximize ? f.values[j] >= known[j] : f.values[j] <= known[j];
    if (as_good) return int64_t(i);
  }
  return -1;
}

// ------------------------------------------------------------------ sensitivity

json sensitivity_json(const std::vector<SensitivityCurve>& curves) {
  json a = json::array();
  for (const auto& c : curves) {
    json levels = json::array();
    for (const auto& l : c.levels)
      levels.push_back(std::holds_alternative<double>(l) ? json(std::get<double>(l))
                                                         : json(std::get<std::string>(l)));
    a.push_back({{"knob", c.knob}, {"levels", levels}, {"drop", c.drop}, {"se", c.se}});
  }
  return a;
}

std::vector<SensitivityCurve> parse_sensitivity(const json& j) {
  std::vector<SensitivityCurve> out;
  for (const auto& e : j) {
    SensitivityCurve c;
    c.knob = e.at("knob").get<std::string>();
    for (const auto& l : e.at("levels"))
      c.levels.push_back(l.is_string() ? KnobValue(l.get<std::string>())
                                       : KnobValue(l.get<double>()));
    c.drop = e.at("drop").get<std::vector<double>>();
    c.se = e.at("se").get<std::vector<double>>();
    out.push_back(std::move(c));
  }
  return out;
}

// Interpolates in level-index space: the curve was measured at some level indices of the knob.
double additive_drop_prior(const CompressionSpace& s, const std::vector<SensitivityCurve>& curves,
                           const Candidate& c) {
  double total = 0;
  for (const auto& curve : curves) {
    const auto it = std::find_if(s.space.knobs.begin(), s.space.knobs.end(),
                                 [&](const Knob& k) { return k.name == curve.knob; });
    if (it == s.space.knobs.end()) continue;
    const size_t j = size_t(it - s.space.knobs.begin());
    std::vector<std::pair<double, double>> pts;  // (level index, drop)
    for (size_t i = 0; i < curve.levels.size() && i < curve.drop.size(); ++i)
      for (size_t l = 0; l < it->levels.size(); ++l)
        if (it->levels[l] == curve.levels[i]) pts.emplace_back(double(l), curve.drop[i]);
    if (pts.empty()) continue;
    std::sort(pts.begin(), pts.end());
    const double x = double(c[j]);
    if (x <= pts.front().first) {
      total += pts.front().second;
      continue;
    }
    if (x >= pts.back().first) {
      total += pts.back().second;
      continue;
    }
    for (size_t i = 1; i < pts.size(); ++i)
      if (x <= pts[i].first) {
        const double t = (x - pts[i - 1].first) / (pts[i].first - pts[i - 1].first);
        total += pts[i - 1].second + t * (pts[i].second - pts[i - 1].second);
        break;
      }
  }
  return total;
}

// ------------------------------------------------------------------ the problem

namespace {

// The original with every Conv/Gemm in `mode` (8-bit weights) as the evaluator runs it: int8 as
// the quantize pass writes it (compressors/runnable.hpp, synthetic statistics).
Graph uniform_model(const Graph& g, Precision mode) {
  if (mode == Precision::kFp32) return g;
  Graph out = g;
  Recipe uniform;
  uniform.defaults.precision = mode;
  set_mode_attrs(out, uniform);
  return mode == Precision::kInt8 ? runnable_model(out) : out;
}

constexpr int kWarmRepeats = 20;  // timed runs per warm-up measurement (medians)
constexpr int kWarmTries = 3;

// Measures g and records it, unless the machine is loaded: a measurement whose median whole-model
// run is over 1.5x its fastest is not kept (on 2 busy cores an OpenMP team with a preempted
// thread waits a scheduler slice, 100 us models run in 100+ ms, and the cache would keep that
// for good). Up to kWarmTries measurements; false when none was clean.
bool measure_when_quiet(const Graph& g, const std::vector<LayerDesc>& schedule, int64_t batch,
                        int threads, MeasureCache& cache) {
  for (int t = 0; t < kWarmTries; ++t) {
    const Measurement m = measure(g, schedule, {batch, threads, kWarmRepeats});
    if (m.model_s <= 1.5 * m.model_min_s) {
      record(cache, schedule, m, threads, kWarmRepeats);
      return true;
    }
  }
  return false;
}

// Warms the measured host model once: the original and the target's uniform modes, in the
// schedules `objectives` costs them with, are measured where a layer is not cached yet; then the
// model is refitted on the cache and handed to `objectives`. Returns what the study records.
std::string warm_host_model(const Graph& model, const Profile& target, const ProblemConfig& c,
                            ObjectiveModel& objectives) {
  const auto t0 = Clock::now();
  const int threads = measured_threads(0);
  std::string why;
  auto cache = open_measure_cache(c.measure_cache, &why);
  if (!cache) return "measured host model without a cache (" + why + ")";
  const HostModel hm = load_host_model(target, *cache, threads);
  std::string loaded;  // modes not measured: the machine was busy
  for (Precision mode : target.precisions) {
    Recipe r;
    r.defaults.precision = mode;
    const auto schedule = objectives.schedule(r);
    const HostPrediction seen = predict_host(schedule, hm);
    bool unseen = false;
    for (size_t k = 0; k < schedule.size(); ++k)
      unseen |=
          (schedule[k].kind != LayerKind::kReorder || schedule[k].graph_op) && !seen.measured[k];
    // same node names: runnable_structure() places what runnable_model() does
    if (unseen &&
        !measure_when_quiet(uniform_model(model, mode), schedule, c.latency_batch, threads, *cache))
      loaded += std::string(loaded.empty() ? "" : ", ") + precision_name(mode);
  }
  objectives.set_host_model(std::make_shared<HostModel>(load_host_model(target, *cache, threads)));
  const HostModel& fit = *objectives.host_model();
  // A cache filled on a busy machine can hold steps 1000x too slow (preempted OpenMP teams):
  // a model that puts the original more than 5x from the roofline is not used.
  const auto original = objectives.schedule(Recipe{});
  const double host_s = predict_host(original, fit).total_s;
  const double roof_s = predict(original, target).latency_s;
  if (!(host_s < 5 * roof_s && roof_s < 5 * host_s)) {
    objectives.set_host_model(nullptr);
    char why_not[160];
    std::snprintf(why_not, sizeof why_not, "original %.1f us vs roofline %.1f us", host_s * 1e6,
                  roof_s * 1e6);
    return "roofline of target " + target.name + " (measured host model rejected: " + why_not +
           ", cache " + cache->path() + ")";
  }
  char text[160];
  std::snprintf(text, sizeof text,
                ", %d threads, %d cached layers, %d whole-model runs; warm-up %.2f s)", threads,
                fit.layer_samples, fit.model_samples, since(t0));
  return "measured host model (cache " + cache->path() + text +
         (loaded.empty() ? "" : "; not measured, machine busy: " + loaded);
}

}  // namespace

CompressionSpace problem_space(const ProblemConfig& config) {
  const ProblemConfig c = parse_problem_config(json::object(), config);
  return build_compression_space(load_onnx(c.model), sha256_file(c.model), find_profile(c.target),
                                 c.space);
}

std::optional<ProblemConfig> recorded_config(const Study& s) {
  const auto it = s.user_attrs.find("config");
  if (it == s.user_attrs.end()) return std::nullopt;
  return parse_problem_config(json::parse(it->second));
}

ApplyOptions problem_apply_options(const ProblemConfig& c, const Profile& target) {
  ApplyOptions o;
  o.prune.channel_multiple = std::max<int64_t>(1, target.channel_multiple);
  o.ls_reconstruction = c.recover;
  return o;
}

CompressionProblem::CompressionProblem(const ProblemConfig& config)
    : config_(with_preprocess_file(parse_problem_config(json::object(), config))) {
  model_ = load_onnx(config_.model);
  const Profile target = find_profile(config_.target);
  const bool measured = resolved_latency_model(config_, target.name) == "measured";
  space_ = build_compression_space(model_, sha256_file(config_.model), target, config_.space);
  const Normalization norm = model_normalization(model_);
  const Shape& input = model_.value(model_.inputs.at(0)).shape;
  val_data_.spec = validation_spec(config_, norm);
  OpenedDataset v = open_dataset(val_data_.spec, input);
  val_ = std::move(v.data);
  val_data_.kind = std::move(v.kind);
  calib_data_.spec = calibration_spec(config_, norm);
  if (config_.calib.empty() && !calib_data_.spec.split)
    throw ConfigError("calib", key_ref("calib") + " is required when " + key_ref("data") +
                                   " is not an IDX directory (calibration and validation images "
                                   "must be distinct)");
  OpenedDataset cb = open_dataset(calib_data_.spec, input);
  calib_ = std::move(cb.data);
  calib_data_.kind = std::move(cb.kind);
  // The original's predictions on the validation images: labels for agreement, and its
  // per-image correctness for the paired drop.
  const int64_t batch = std::max<int64_t>(1, std::min(config_.eval_batch, val_.size()));
  auto ex = compile(model_, {batch, 0});
  const EvalResult r = autocompress::evaluate(*ex, model_, val_, batch, {}, true);
  append_top1(r.outputs, r.classes, original_top1_);
  for (size_t i = 0; i < original_top1_.size(); ++i)
    original_correct_.push_back(!val_.has_labels() || original_top1_[i] == val_.labels[i]);
  original_accuracy_ = paired_drop(original_correct_, original_correct_).original;
  const ApplyOptions ao = problem_apply_options(config_, target);
  apply_ = std::make_unique<ApplyContext>(model_, calib_, ao);
  std::set<std::string> refit;
  if (ao.ls_reconstruction)
    for (const auto& [name, gram] : apply_->ls_stats().layers) refit.insert(name);
  std::shared_ptr<const HostModel> host;  // measured: fitted to nothing until warmed below
  if (measured)
    host =
        std::make_shared<HostModel>(fit_host_model(target, {}, measured_threads(0), this_host()));
  objectives_ = std::make_unique<ObjectiveModel>(model_, target, config_.latency_batch,
                                                 ao.prune.channel_multiple, refit, host);
  latency_about_ = measured ? warm_host_model(model_, target, config_, *objectives_)
                            : "roofline of target " + target.name;
  original_known_ =
      objectives_->evaluate(candidate_to_recipe(space_, Candidate(space_.space.size(), 0)));
}

CompressionProblem::~CompressionProblem() = default;

int64_t CompressionProblem::validation_size() const { return val_.size(); }

std::vector<Objective> CompressionProblem::objectives() const {
  std::vector<Objective> out;
  for (const auto& o : config_.objectives) {
    const auto [name, sense] = objective_info(o);
    out.push_back({name, sense == Sense::kMaximize ? Direction::kMaximize : Direction::kMinimize});
  }
  return out;
}

std::vector<Sense> CompressionProblem::senses() const {
  std::vector<Sense> out;
  for (const auto& o : config_.objectives) out.push_back(objective_info(o).second);
  return out;
}

std::vector<uint8_t> CompressionProblem::known_mask() const {
  std::vector<uint8_t> out;
  for (const auto& o : config_.objectives) out.push_back(o != "accuracy");
  return out;
}

std::vector<std::string> CompressionProblem::constraint_names() const {
  std::vector<std::string> out;
  if (config_.max_accuracy_drop > 0) out.push_back("accuracy_drop");
  if (config_.max_latency_ms > 0) out.push_back("latency");
  if (config_.max_size_mb > 0) out.push_back("size");
  if (config_.max_energy_mj > 0) out.push_back("energy");
  return out;
}

std::vector<double> CompressionProblem::reference_point() const {
  std::vector<double> ref;
  const double drop = config_.max_accuracy_drop > 0 ? config_.max_accuracy_drop : 10.0;
  for (const auto& o : config_.objectives)
    ref.push_back(o == "accuracy" ? original_accuracy_ - drop / 100
                                  : known_value(o, original_known_));
  return ref;
}

std::vector<double> CompressionProblem::known_values(const Candidate& c) const {
  const KnownObjectives k = objectives_->evaluate(candidate_to_recipe(space_, c));
  std::vector<double> out;
  for (const auto& o : config_.objectives) out.push_back(known_value(o, k));
  return out;
}

std::vector<double> CompressionProblem::cheap_constraints(const Candidate& c) const {
  if (config_.max_latency_ms <= 0 && config_.max_size_mb <= 0 && config_.max_energy_mj <= 0)
    return {};
  const KnownObjectives k = objectives_->evaluate(candidate_to_recipe(space_, c));
  std::vector<double> out;
  if (config_.max_latency_ms > 0) out.push_back(k.latency_s * 1e3 - config_.max_latency_ms);
  if (config_.max_size_mb > 0) out.push_back(k.size_bytes / 1e6 - config_.max_size_mb);
  if (config_.max_energy_mj > 0) out.push_back(k.energy_j * 1e3 - config_.max_energy_mj);
  return out;
}

Graph CompressionProblem::build(const Recipe& r) const {
  RecipeCheck check;
  check.model_sha256 = space_.model_sha256;
  check.legal_precisions =
      std::set<Precision>(target().precisions.begin(), target().precisions.end());
  validate_recipe(r, model_, check);
  return apply(*apply_, r);
}

std::vector<uint8_t> CompressionProblem::correct(Executor& ex, int64_t batch, int64_t begin,
                                                 int64_t end) const {
  const int64_t per = numel(val_.sample_shape);
  std::vector<uint8_t> out;
  std::vector<int64_t> top;
  for (int64_t b = begin; b < end; b += batch) {
    const int64_t n = std::min(batch, end - b);
    HostTensor x;
    x.shape = val_.sample_shape;
    x.shape.insert(x.shape.begin(), n);
    x.data.resize(size_t(n * per));
    val_.read(b, n, x.data);
    const auto y = ex.run({x});
    top.clear();
    append_top1(y.at(0).data, y[0].shape.at(1), top);
    for (int64_t i = 0; i < n; ++i) {
      const size_t at = size_t(b + i);
      out.push_back(val_.has_labels() ? top[size_t(i)] == val_.labels[at]
                                      : top[size_t(i)] == original_top1_[at]);
    }
  }
  return out;
}

PairedDrop CompressionProblem::accuracy_of(const Recipe& r, int64_t limit, int threads) const {
  const int64_t n = limit > 0 ? std::min(limit, val_.size()) : val_.size();
  const int64_t batch = std::min(config_.eval_batch, std::max<int64_t>(1, n));
  auto ex = compile(build(r), {batch, threads});
  const auto c = correct(*ex, batch, 0, n);
  return paired_drop(original_correct_, c);  // the first n images of both
}

std::vector<FrontPoint> CompressionProblem::front_points(
    const std::vector<FrozenTrial>& trials) const {
  const auto acc = std::find(config_.objectives.begin(), config_.objectives.end(), "accuracy");
  if (!config_.front_stopping || acc == config_.objectives.end()) return {};
  const size_t m = config_.objectives.size(), a = size_t(acc - config_.objectives.begin());
  std::vector<FrontPoint> all;
  std::vector<double> pts;
  for (const auto& t : trials) {
    const auto images = t.metrics.find("images");
    if (t.state != TrialState::kComplete || t.values.size() != m || !is_feasible(t.constraints) ||
        images == t.metrics.end() || int64_t(images->second) != val_.size())
      continue;
    const auto drop = t.metrics.find("accuracy_drop");
    all.push_back(
        {t.number, t.values,
         drop != t.metrics.end() ? drop->second : 100 * (original_accuracy_ - t.values[a])});
    pts.insert(pts.end(), t.values.begin(), t.values.end());
  }
  std::vector<FrontPoint> front;
  for (size_t i : pareto_front(pts, m, senses())) front.push_back(std::move(all[i]));
  return front;
}

// Why the evaluation of a candidate should stop after the images behind `d` ("" = go on), and
// the user attr "pruned_by" that records it.
std::pair<std::string, std::string> CompressionProblem::stop_reason(
    const PairedDrop& d, std::span<const double> known, std::span<const FrontPoint> front) const {
  const auto pts = [](double v) { return std::to_string(v); };
  const std::string est = "accuracy drop " + pts(d.drop) + " +- " + pts(d.se) + " points after " +
                          std::to_string(d.n) + " images ";
  if (cannot_meet(d, config_.max_accuracy_drop, config_.stop_z))
    return {est + "cannot meet the limit " + pts(config_.max_accuracy_drop), "accuracy_constraint"};
  if (!config_.front_stopping) return {};
  const int64_t f = dominated_for_sure(d, known, senses(), front, config_.stop_z);
  if (f < 0) return {};
  const std::string n = std::to_string(front[size_t(f)].number);
  return {est + "cannot reach the front: trial " + n + " (drop " + pts(front[size_t(f)].drop) +
              ") is as good in every known objective",
          "front:" + n};
}

Evaluation CompressionProblem::evaluate(const Candidate& c, int threads,
                                        const std::function<bool()>& stop,
                                        std::span<const FrontPoint> front) const {
  Evaluation ev;
  TrialResult& res = ev.result;
  const auto t0 = Clock::now();
  try {
    const Recipe recipe = candidate_to_recipe(space_, c);
    ev.recipe_json = recipe_to_json(recipe);
    res.user_attrs["recipe"] = ev.recipe_json;
    const KnownObjectives k = objectives_->evaluate(recipe);
    res.metrics = {{"latency_ms", k.latency_s * 1e3},
                   {"energy_mj", k.energy_j * 1e3},
                   {"size_mb", k.size_bytes / 1e6},
                   {"macs", k.macs}};
    const Graph g = build(recipe);
    const int64_t n = val_.size(), chunk = std::max<int64_t>(1, config_.chunk);
    const int64_t batch = std::min({config_.eval_batch, chunk, std::max<int64_t>(1, n)});
    auto ex = compile(g, {batch, threads});
    res.metrics["build_s"] = since(t0);
    std::vector<double> known;
    for (const auto& o : config_.objectives) known.push_back(known_value(o, k));
    std::vector<uint8_t> cand;
    PairedDrop d;
    res.state = TrialState::kComplete;
    for (int64_t b = 0; b < n; b += chunk) {
      if (stop && stop()) throw RuntimeError("interrupted");
      const auto part = correct(*ex, batch, b, std::min(n, b + chunk));
      cand.insert(cand.end(), part.begin(), part.end());
      d = paired_drop(original_correct_, cand);
      if (!config_.early_stopping || d.n >= n) continue;
      auto [why, by] = stop_reason(d, known, front);
      if (why.empty()) continue;
      res.state = TrialState::kPruned;
      res.error = std::move(why);
      res.user_attrs["pruned_by"] = std::move(by);
      break;
    }
    res.metrics["accuracy_drop"] = d.drop;
    res.metrics["accuracy_se"] = d.se;
    res.metrics["images"] = double(d.n);
    for (size_t j = 0; j < known.size(); ++j)
      res.values.push_back(config_.objectives[j] == "accuracy" ? d.accuracy : known[j]);
    if (config_.max_accuracy_drop > 0)
      res.constraints.push_back(d.drop - config_.max_accuracy_drop);
    for (double v : cheap_constraints(c)) res.constraints.push_back(v);
  } catch (const std::exception& e) {
    res.state = TrialState::kFail;
    res.values.clear();
    res.constraints.clear();
    res.error = e.what();
  }
  res.metrics["eval_s"] = since(t0);
  return ev;
}

std::vector<SensitivityCurve> CompressionProblem::sensitivity(
    int64_t limit, int threads, const std::function<void(const std::string&)>& progress) const {
  std::vector<SensitivityCurve> curves;
  const Candidate base(space_.space.size(), 0);
  for (size_t j = 0; j < space_.space.size(); ++j) {
    const Knob& k = space_.space.knobs[j];
    if (k.fixed >= 0) continue;
    SensitivityCurve curve{k.name, {}, {}, {}};
    const size_t last = k.levels.size() - 1;
    std::vector<size_t> at = {0, last / 2, last};
    at.erase(std::unique(at.begin(), at.end()), at.end());
    for (size_t l : at) {
      Candidate c = base;
      c[j] = int(l);
      curve.levels.push_back(k.levels[l]);
      if (l == 0) {
        curve.drop.push_back(0), curve.se.push_back(0);
        continue;
      }
      try {
        const PairedDrop d = accuracy_of(candidate_to_recipe(space_, c), limit, threads);
        curve.drop.push_back(d.drop), curve.se.push_back(d.se);
      } catch (const Error& e) {  // e.g. a mode this build cannot run yet: no curve point
        curve.levels.pop_back();
        if (progress) progress(k.name + ": " + e.what());
        continue;
      }
      if (progress)
        progress(k.name + " = level " + std::to_string(l) + ": drop " +
                 std::to_string(curve.drop.back()) + " points");
    }
    curves.push_back(std::move(curve));
  }
  return curves;
}

StudySpec CompressionProblem::study_spec(const std::string& name) const {
  StudySpec s;
  s.name = name;
  s.model_sha256 = space_.model_sha256;
  s.model_path = config_.model;
  s.dataset = config_.data;
  s.split = val_data_.spec.split ? config_.split : "";
  s.target = config_.target;
  s.objectives = objectives();
  s.reference_point = reference_point();
  s.constraints = constraint_names();
  s.search_space = space_json(space_);
  s.user_attrs["config"] = problem_config_json(config_).dump();
  s.user_attrs["original_accuracy"] = json(original_accuracy_).dump();
  s.user_attrs["validation_images"] = std::to_string(val_.size());
  s.user_attrs["latency_model"] = latency_about_;
  s.user_attrs["normalization"] =
      "accuracy: fraction of top-1 " +
      std::string(val_.has_labels() ? "against labels" : "agreement with the original") +
      "; latency_ms, energy_mj: target " + target().name + " at batch " +
      std::to_string(config_.latency_batch) + "; size_mb: packed bytes / 1e6";
  return s;
}

}  // namespace autocompress
