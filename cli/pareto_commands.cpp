#include "cli/pareto_commands.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/data_flags.hpp"
#include "cli/format.hpp"
#include "cli/output_path.hpp"
#include "cli/query_format.hpp"
#include "cli/storage_commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/sha256.hpp"
#include "hwmodels/measure.hpp"
#include "hwmodels/profile.hpp"
#include "model/onnx_io.hpp"
#include "search/report/front.hpp"
#include "search/report/report.hpp"
#include "search/study/objectives.hpp"
#include "search/study/verify.hpp"
#include "storage/open_storage.hpp"

namespace autocompress::cli {

namespace {

using nlohmann::json;

struct Args {
  std::string db, study, format = "table", export_dir, target, model, output;
  bool verify = false;
  VerifyOptions v;
  DataFlags test{"", "", "test"};  // --verify: the shared data flags (cli/data_flags.hpp)
  PreprocessFlags pre;
};

// ------------------------------------------------------------------ --target

// The study's model, checked against the hash it recorded.
Graph study_model(const Study& s, const std::string& override_path) {
  const std::string path = override_path.empty() ? s.model_path : override_path;
  if (!std::filesystem::exists(path))
    throw UsageError("--target: the study's model '" + path +
                     "' is not there (relative to this directory?); give it with --model");
  if (!s.model_sha256.empty() && sha256_file(path) != s.model_sha256)
    throw UsageError("--target: model '" + path + "' has sha256 " + sha256_file(path) +
                     ", the study was made for " + s.model_sha256);
  return load_onnx(path);
}

int64_t latency_batch(const Study& s) {
  const auto it = s.user_attrs.find("config");
  if (it == s.user_attrs.end()) return 1;
  const json c = json::parse(it->second, nullptr, false);
  return c.is_object() ? c.value("latency_batch", int64_t(1)) : 1;
}

// Every COMPLETE trial with latency and energy recomputed for `target` from its recipe
// (search/study/objectives.hpp); trials whose recipe the target cannot run (a precision it lacks)
// are left out and counted in `skipped`.
std::vector<FrozenTrial> rescore(const Study& s, const std::vector<FrozenTrial>& trials,
                                 const Args& a, size_t& skipped, std::string& first_reason) {
  const Graph g = study_model(s, a.model);
  const Profile target = find_profile(a.target);
  const ObjectiveModel model(g, target, latency_batch(s), target.channel_multiple);
  RecipeCheck check;
  check.legal_precisions.emplace(target.precisions.begin(), target.precisions.end());
  std::vector<FrozenTrial> out;
  skipped = 0;
  for (const auto& t : trials) {
    if (!has_all_values(s, t)) continue;
    try {
      const Recipe r = parse_recipe(trial_recipe(s, t).dump(), "trial " + std::to_string(t.number));
      validate_recipe(r, g, check);
      const KnownObjectives k = model.evaluate(r);
      // Packed size does not depend on the target: kept as recorded.
      out.push_back(with_known_values(
          s, t, {{"latency_ms", k.latency_s * 1e3}, {"energy_mj", k.energy_j * 1e3}}));
    } catch (const RecipeError& e) {
      if (skipped++ == 0) first_reason = e.what();
    }
  }
  return out;
}

// ------------------------------------------------------------------ pareto

struct Row {
  const FrozenTrial* t;
  bool knee = false;
  json recipe;
  std::vector<LayerRow> layers;
  std::string summary;
};

std::vector<Row> front_rows(const Study& s, const std::vector<FrozenTrial>& trials,
                            const TrialFront& front) {
  std::vector<double> pts;
  for (size_t i : front.members)
    pts.insert(pts.end(), trials[i].values.begin(), trials[i].values.end());
  const size_t knee =
      pts.empty() ? SIZE_MAX : knee_point(pts, s.objectives.size(), study_senses(s));
  const auto order = layer_order(s);
  std::vector<Row> rows;
  for (size_t k = 0; k < front.members.size(); ++k) {
    Row r{&trials[front.members[k]], k == knee, trial_recipe(s, trials[front.members[k]]), {}, {}};
    r.layers =
        recipe_layers(parse_recipe(r.recipe.dump(), "trial " + std::to_string(r.t->number)), order);
    r.summary = recipe_summary(r.layers);
    rows.push_back(std::move(r));
  }
  return rows;
}

// Each as `export` writes it (with the study's calibration record).
void export_recipes(const Study& s, const std::string& dir, const std::vector<Row>& rows) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError(dir, "cannot create the directory: " + ec.message());
  for (const auto& r : rows)
    write_recipe(
        exported_recipe(s, *r.t),
        (std::filesystem::path(dir) / ("trial_" + std::to_string(r.t->number) + ".json")).string());
  std::fprintf(stderr, "wrote %zu recipes to %s\n", rows.size(), dir.c_str());
}

json row_json(const Study& s, const Row& r) {
  json values = json::object(), constraints = json::object(), layers = json::array();
  for (size_t j = 0; j < s.objectives.size(); ++j)
    values[s.objectives[j].name] = num_json(r.t->values[j]);
  for (size_t j = 0; j < r.t->constraints.size() && j < s.constraints.size(); ++j)
    constraints[s.constraints[j]] = num_json(r.t->constraints[j]);
  for (const auto& l : r.layers)
    layers.push_back({{"layer", l.layer},
                      {"prune", l.settings.prune},
                      {"precision", precision_name(l.settings.precision)},
                      {"wbits", l.settings.wbits},
                      {"rank", l.settings.rank}});
  json j = {{"number", r.t->number},      {"knee", r.knee},       {"values", values},
            {"constraints", constraints}, {"summary", r.summary}, {"layers", layers}};
  if (auto b = uniform_policy(s, *r.t); !b.empty()) j["uniform_policy"] = b;
  return j;
}

void print_rows(const Args& a, const Study& s, const std::vector<Row>& rows,
                const std::string& title) {
  if (a.format == "json") {
    json out = json::array();
    for (const auto& r : rows) out.push_back(row_json(s, r));
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  if (a.format == "csv") {
    std::string h = "number,knee";
    for (const auto& o : s.objectives) h += "," + csv_field(o.name);
    std::printf("%s,summary\n", h.c_str());
    for (const auto& r : rows) {
      std::string line = std::to_string(r.t->number) + (r.knee ? ",1" : ",0");
      for (double v : r.t->values) line += "," + num(v);
      std::printf("%s,%s\n", line.c_str(), csv_field(r.summary).c_str());
    }
    return;
  }
  std::printf("%s\n%8s", title.c_str(), "trial");
  for (const auto& o : s.objectives) std::printf(" %12s", o.name.c_str());
  std::printf("  %s\n", "per-layer summary");
  for (const auto& r : rows) {
    std::printf("%s%7lld", r.knee ? "*" : " ", (long long)r.t->number);
    for (double v : r.t->values) std::printf(" %12s", num(v).c_str());
    std::printf("  %s\n", r.summary.c_str());
  }
  std::printf("* knee (farthest from the plane through the front's extremes)\n%s\n",
              kSummaryLegend);
}

// ------------------------------------------------------------------ --verify

// The front's points, then the study's uniform baselines that are not on it (any finished trial
// with a recipe: a baseline pruned on validation is still a baseline).
std::vector<VerifyItem> verify_items(const Study& s, const std::vector<FrozenTrial>& trials,
                                     const std::vector<Row>& rows) {
  std::vector<VerifyItem> items;
  std::set<int64_t> on_front;
  for (const auto& r : rows) {
    items.push_back({r.t->number, true, uniform_policy(s, *r.t), r.recipe});
    on_front.insert(r.t->number);
  }
  for (const auto& t : trials) {
    if (on_front.count(t.number) || t.params.empty() ||
        (t.state != TrialState::kComplete && t.state != TrialState::kPruned))
      continue;
    if (auto b = uniform_policy(s, t); !b.empty())
      items.push_back({t.number, false, b, trial_recipe(s, t)});
  }
  return items;
}

std::string role(const VerifyItem& it) {
  if (it.number < 0) return "original";
  const std::string f = it.front ? "front" : "";
  if (it.baseline.empty()) return f;
  return f.empty() ? "uniform: " + it.baseline : f + ", uniform: " + it.baseline;
}

std::string interval(double v, double lo, double hi, const char* f) {
  char buf[96];
  const std::string fmt = std::string(f) + " [" + f + ", " + f + "]";
  std::snprintf(buf, sizeof buf, fmt.c_str(), v, lo, hi);
  return buf;
}

void print_verified(const std::vector<VerifiedTrial>& rows) {
  std::printf("%8s  %-34s %-24s %-24s %9s  %s\n", "trial", "role", "test acc % [95% CI]",
              "drop pts [95% CI]", "size MB", "host latency ms, median [CI]");
  for (const auto& v : rows) {
    const double acc = 100 * v.test.accuracy, h = 100 * kZ95 * v.accuracy_se;
    const double dh = kZ95 * v.test.se;
    std::printf("%8s  %-34s %-24s %-24s %9.4f  %s\n",
                v.item.number < 0 ? "-" : std::to_string(v.item.number).c_str(),
                role(v.item).c_str(), interval(acc, acc - h, acc + h, "%.2f").c_str(),
                v.item.number < 0
                    ? "-"
                    : interval(v.test.drop, v.test.drop - dh, v.test.drop + dh, "%.2f").c_str(),
                v.size_mb,
                interval(v.latency_ms.median, v.latency_ms.lo, v.latency_ms.hi, "%.4f").c_str());
  }
}

void print_pick(const char* what, const char* rule, const UniformComparison::Pick& p, double goal) {
  if (p.number < 0) {
    std::printf("  %s, %s: no front point qualifies\n", what, rule);
    return;
  }
  std::printf(
      "  %s, %s: trial %lld, %.2fx (goal >= %.1fx: %s); test accuracy %+.2f +- %.2f "
      "points vs the baseline (paired SE)\n",
      what, rule, (long long)p.number, p.ratio, goal, p.ratio >= goal ? "met" : "missed", p.diff,
      p.se);
}

void print_comparison(const UniformComparison& c) {
  if (c.baseline < 0) {
    std::printf("no uniform baseline among the study's trials: no comparison\n");
    return;
  }
  std::printf(
      "\nagainst the best uniform baseline by test accuracy: trial %lld (%s, %.2f %%)\n"
      "a front point qualifies when its test accuracy is >= the baseline's (strict) or "
      "not below it by more than 1.96 paired SE (within CI)\n",
      (long long)c.baseline, c.baseline_name.c_str(), 100 * c.baseline_accuracy);
  print_pick("smaller (packed size)", "strict", c.smaller_strict, 1.3);
  print_pick("smaller (packed size)", "within CI", c.smaller_ci, 1.3);
  print_pick("faster (measured host latency)", "strict", c.faster_strict, 1.2);
  print_pick("faster (measured host latency)", "within CI", c.faster_ci, 1.2);
}

// Finished trials are immutable (storage/storage.hpp), so the verification goes to study attrs:
// "verify:<trial>" per trial ("verify:original" for the original) and "verify" for the run.
void record_verification(const Args& a, const Study& s, const std::vector<VerifiedTrial>& rows,
                         const json& run) {
  const auto opened = open_storage(a.db);
  Storage& st = *opened;
  for (const auto& v : rows)
    st.set_study_user_attr(
        s.id,
        "verify:" + (v.item.number < 0 ? std::string("original") : std::to_string(v.item.number)),
        verified_json(v).dump());
  st.set_study_user_attr(s.id, "verify", run.dump());
}

int verify(const Args& a, const Study& s, const std::vector<FrozenTrial>& trials,
           const std::vector<Row>& rows, const std::string& title) {
  VerifyOptions o = a.v;
  o.model = a.model;
  o.test_data = a.test.source;
  o.test_labels = a.test.labels;
  if (given(a.test.split_option)) o.test_split = parse_split(a.test.split);
  o.test_limit = a.test.limit;
  o.preprocess = [&a](Preprocessing& p) { apply_preprocess_flags(a.pre, p); };
  const Verifier verifier(s, o);
  const auto items = verify_items(s, trials, rows);
  std::fprintf(stderr, "test data: %s (%s)\nverifying %zu trials on %lld test images...\n",
               verifier.test_kind().c_str(), verifier.test_source().c_str(), items.size(),
               (long long)verifier.test_size());
  const auto verified = verifier.verify(items);
  const UniformComparison c = compare_with_uniform(verified);
  const int64_t batch = verified.front().batch;
  json run = {{"test_source", verifier.test_source()},
              {"test_images", verifier.test_size()},
              {"repeats", a.v.repeats},
              {"threads", measured_threads(a.v.threads)},
              {"latency_batch", batch},
              {"verified_at", unix_now()},
              {"comparison", comparison_json(c)}};
  record_verification(a, s, verified, run);
  if (a.format == "json") {
    run["rows"] = json::array();
    for (const auto& v : verified) run["rows"].push_back(verified_json(v));
    std::printf("%s\n", run.dump(2).c_str());
    return 0;
  }
  std::printf(
      "%s, verified on %lld test images of %s; host latency at batch %lld, %d threads, "
      "%d interleaved runs each (median, order-statistic CI of >= 95%% coverage when "
      "runs allow)\n",
      title.c_str(), (long long)verifier.test_size(), verifier.test_source().c_str(),
      (long long)batch, measured_threads(a.v.threads), a.v.repeats);
  print_verified(verified);
  print_comparison(c);
  return 0;
}

int pareto(const Args& a) {
  if (a.format != "table" && a.format != "json" && a.format != "csv")
    throw UsageError("--format must be table, json or csv, got '" + a.format + "'");
  if (a.verify && !a.target.empty())
    throw UsageError("--verify measures latency on this host; it does not combine with --target");
  if (a.verify && a.format == "csv") throw UsageError("--verify prints a table or json, not csv");
  const auto opened = open_read_only(a.db);
  Storage& st = *opened;
  const Study s = st.get_study(a.study);
  std::vector<FrozenTrial> trials = st.trials(s.id);
  std::string title = "study '" + s.name + "'";
  if (!a.target.empty()) {
    size_t skipped = 0;
    std::string reason;
    trials = rescore(s, trials, a, skipped, reason);
    title += ", re-scored for target '" + a.target + "' (" + std::to_string(trials.size()) +
             " COMPLETE trials, 0 new evaluations)";
    if (skipped)
      std::fprintf(stderr, "autocompress: note: %zu trials cannot run on '%s', e.g. %s\n", skipped,
                   a.target.c_str(), reason.c_str());
  }
  const TrialFront front = study_front(s, trials);
  note_front(front, "study '" + s.name + "'");
  const auto rows = front_rows(s, trials, front);
  title += ": front of " + std::to_string(rows.size()) + " trials";
  if (!a.export_dir.empty()) export_recipes(s, a.export_dir, rows);
  if (a.verify) return verify(a, s, trials, rows, title);
  print_rows(a, s, rows, title);
  return 0;
}

int report(const Args& a) {
  refuse_input_as_output("--output", a.output, {{"study database", a.db}});
  const auto opened = open_read_only(a.db);
  Storage& st = *opened;
  const Study s = st.get_study(a.study);
  const std::string html = render_report(s, st.trials(s.id));
  write_file_atomically(a.output, html);
  std::printf("wrote %s (study '%s', %zu bytes)\n", a.output.c_str(), s.name.c_str(), html.size());
  return 0;
}

}  // namespace

struct ParetoCommands::State {
  Args a;
  CLI::App* pareto = nullptr;
  CLI::App* report = nullptr;
};

ParetoCommands::ParetoCommands(CLI::App& app) : s_(std::make_unique<State>()) {
  Args& a = s_->a;
  auto* p = s_->pareto = app.add_subcommand("pareto", "The Pareto front of a study, knee marked");
  p->add_option("--db", a.db, kDbHelp)->required();
  p->add_option("--study,-s", a.study, "study name")->required();
  p->add_option("--format", a.format, "table | json | csv")->capture_default_str();
  p->add_option("--export-dir", a.export_dir, "write one recipe JSON per front point here");
  p->add_option("--target", a.target,
                "re-score latency/energy/size for this hardware profile (no new evaluations)");
  p->add_option("--model", a.model, "the study's ONNX model (default: the path it recorded)");
  p->add_flag("--verify", a.verify,
              "re-evaluate the front and the uniform baselines on test data and measure their "
              "host latency; the data flags below name the test data (default: the study's data "
              "directory, its test split), preprocessed as the study did unless flags say "
              "otherwise");
  // --test-data, --test-labels, --test-limit / --verify-limit: the names before the shared flags.
  add_data_flags(*p, a.test, a.pre,
                 {"--test-data", "--test-labels", "--test-limit,--verify-limit"});
  p->add_option("--repeats", a.v.repeats, "--verify: timed runs per candidate")
      ->capture_default_str();
  p->add_option("--threads", a.v.threads, "--verify: oneDNN threads (0 = all cores)")
      ->capture_default_str();

  auto* r = s_->report = app.add_subcommand("report", "Write an HTML report of a study");
  r->add_option("--db", a.db, kDbHelp)->required();
  r->add_option("--study,-s", a.study, "study name")->required();
  r->add_option("--output,-o", a.output, "the .html file to write")->required();
}

ParetoCommands::~ParetoCommands() = default;

std::optional<int> ParetoCommands::run() const {
  if (*s_->pareto) return pareto(s_->a);
  if (*s_->report) return report(s_->a);
  return std::nullopt;
}

}  // namespace autocompress::cli
