#include "cli/storage_commands.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cli/compress_commands.hpp"
#include "cli/format.hpp"
#include "cli/output_path.hpp"
#include "cli/query_format.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "compressors/apply.hpp"
#include "compressors/recipe.hpp"
#include "evaluator/evaluate.hpp"
#include "hwmodels/profile.hpp"
#include "model/onnx_io.hpp"
#include "search/report/front.hpp"
#include "search/study/problem.hpp"
#include "search/study/problem_config.hpp"
#include "search/study/study_data.hpp"
#include "storage/filter.hpp"
#include "storage/open_storage.hpp"
#include "storage/study_copy.hpp"

namespace autocompress::cli {

namespace {

using nlohmann::json;

struct Args {
  std::string db, study, where, sort, format = "table", output, onnx, from, to;
  int64_t limit = 0, trial = -1;
  bool pareto = false;
};

// ------------------------------------------------------------------ studies

int studies(const Args& a) {
  const auto opened = open_read_only(a.db);
  Storage& st = *opened;
  json rows = json::array();
  for (const auto& s : st.studies()) {
    std::map<std::string, int> counts;
    for (const char* state : {"RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"})
      counts[state] = 0;
    std::vector<double> best(s.objectives.size(), NAN);
    double last = s.created_at;
    for (const auto& t : st.trials(s.id)) {
      ++counts[to_string(t.state)];
      last = std::max({last, t.started_at, t.finished_at, t.heartbeat_at});
      if (!has_all_values(s, t) || !is_feasible(t.constraints)) continue;
      for (size_t j = 0; j < best.size(); ++j) {
        const bool max = s.objectives[j].direction == Direction::kMaximize;
        if (std::isnan(best[j]) || (max ? t.values[j] > best[j] : t.values[j] < best[j]))
          best[j] = t.values[j];
      }
    }
    json b = json::object();
    for (size_t j = 0; j < best.size(); ++j) b[s.objectives[j].name] = num_json(best[j]);
    rows.push_back({{"name", s.name},
                    {"model_sha256", s.model_sha256},
                    {"trials", counts},
                    {"best", b},
                    {"created", utc_time(s.created_at)},
                    {"last_activity", utc_time(last)}});
  }
  if (a.format == "json") {
    std::printf("%s\n", rows.dump(2).c_str());
    return 0;
  }
  std::printf("%-20s %8s %8s %6s %6s %7s  %-34s %s\n", "study", "complete", "running", "pruned",
              "fail", "waiting", "best (feasible)", "last activity");
  for (const auto& r : rows) {
    std::string best;
    for (const auto& [k, v] : r["best"].items())
      best += (best.empty() ? "" : " ") + k + "=" + (v.is_null() ? "-" : num(v.get<double>()));
    const auto& c = r["trials"];
    std::printf("%-20s %8d %8d %6d %6d %7d  %-34s %s\n", r["name"].get<std::string>().c_str(),
                c["COMPLETE"].get<int>(), c["RUNNING"].get<int>(), c["PRUNED"].get<int>(),
                c["FAIL"].get<int>(), c["WAITING"].get<int>(), best.c_str(),
                r["last_activity"].get<std::string>().c_str());
  }
  return 0;
}

// ------------------------------------------------------------------ trials

struct Table {
  std::vector<FlatColumn> columns;  // number first
  std::vector<std::string> params;  // param names (csv and json)
};

void sort_trials(const Args& a, const Table& tab, std::vector<FrozenTrial>& trials) {
  if (a.sort.empty()) return;
  const bool desc = a.sort[0] == '-';
  const std::string key = desc ? a.sort.substr(1) : a.sort;
  auto col = std::find_if(tab.columns.begin(), tab.columns.end(),
                          [&](const FlatColumn& c) { return c.name == key; });
  if (col == tab.columns.end()) {
    std::string known;
    for (const auto& c : tab.columns) known += (known.empty() ? "" : ", ") + c.name;
    throw UsageError("--sort: unknown name '" + key + "'; known: " + known +
                     " (prefix with - for descending)");
  }
  std::stable_sort(trials.begin(), trials.end(), [&](const FrozenTrial& x, const FrozenTrial& y) {
    const auto u = column_value(*col, x), v = column_value(*col, y);
    if (!u || !v) return u.has_value() && !v.has_value();  // missing values last
    return desc ? *u > *v : *u < *v;
  });
}

std::string param_text(const ParamValue& v) {
  if (const double* d = std::get_if<double>(&v)) return num(*d);
  return std::get<std::string>(v);
}

json trial_json(const Study& s, const FrozenTrial& t) {
  json values = json::object(), constraints = json::object(), params = json::object();
  for (size_t j = 0; j < t.values.size() && j < s.objectives.size(); ++j)
    values[s.objectives[j].name] = num_json(t.values[j]);
  for (size_t j = 0; j < t.constraints.size() && j < s.constraints.size(); ++j)
    constraints[s.constraints[j]] = num_json(t.constraints[j]);
  for (const auto& p : t.params)
    params[p.name] = std::holds_alternative<double>(p.value) ? num_json(std::get<double>(p.value))
                                                             : json(std::get<std::string>(p.value));
  json metrics = json::object();
  for (const auto& [k, v] : t.metrics) metrics[k] = num_json(v);
  json j = {{"number", t.number},
            {"state", to_string(t.state)},
            {"worker", t.worker},
            {"started", utc_time(t.started_at)},
            {"finished", utc_time(t.finished_at)},
            {"values", values},
            {"metrics", metrics},
            {"constraints", constraints},
            {"params", params},
            {"user_attrs", t.user_attrs}};
  if (!t.error.empty()) j["error"] = t.error;
  if (t.requeued_from) j["requeued_from"] = *t.requeued_from;
  return j;
}

void print_trials(const Args& a, const Study& s, const Table& tab,
                  const std::vector<FrozenTrial>& trials) {
  if (a.format == "json") {
    json rows = json::array();
    for (const auto& t : trials) rows.push_back(trial_json(s, t));
    std::printf("%s\n", rows.dump(2).c_str());
    return;
  }
  const bool csv = a.format == "csv";
  std::vector<std::string> header = {"number", "state"};
  for (const auto& c : tab.columns)
    if (c.source != ColumnSource::kNumber && c.source != ColumnSource::kStarted &&
        c.source != ColumnSource::kFinished)
      header.push_back(c.name);
  if (csv) header.insert(header.end(), tab.params.begin(), tab.params.end());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (csv) {
        out += (i ? "," : "") + csv_field(cells[i]);
      } else {
        char buf[64];
        std::snprintf(buf, sizeof buf,
                      i == 0   ? "%6s"
                      : i == 1 ? " %-9s"
                               : " %12s",
                      cells[i].c_str());
        out += buf;
      }
    }
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& t : trials) {
    std::vector<std::string> cells = {std::to_string(t.number), to_string(t.state)};
    for (const auto& c : tab.columns)
      if (c.source != ColumnSource::kNumber && c.source != ColumnSource::kStarted &&
          c.source != ColumnSource::kFinished)
        cells.push_back(num(column_value(c, t).value_or(NAN)));
    if (csv)
      for (const auto& name : tab.params) {
        auto p = std::find_if(t.params.begin(), t.params.end(),
                              [&](const Param& q) { return q.name == name; });
        cells.push_back(p == t.params.end() ? "" : param_text(p->value));
      }
    line(cells);
  }
}

int trials(const Args& a) {
  if (a.format != "table" && a.format != "json" && a.format != "csv")
    throw UsageError("--format must be table, json or csv, got '" + a.format + "'");
  const auto opened = open_read_only(a.db);
  Storage& st = *opened;
  const Study s = st.get_study(a.study);
  std::optional<Filter> where;
  if (!a.where.empty()) where = Filter::parse(a.where);
  auto trials = st.trials(s.id, where ? &*where : nullptr);
  Table tab{flat_columns(s, st.metric_names(s.id)), {}};
  std::set<std::string> params;
  for (const auto& t : trials)
    for (const auto& p : t.params) params.insert(p.name);
  tab.params.assign(params.begin(), params.end());
  if (a.pareto) {  // the front `pareto` shows, of the listed trials
    const TrialFront front = study_front(s, trials);
    note_front(front, "study '" + s.name + "' (" + std::to_string(trials.size()) + " listed)");
    std::vector<FrozenTrial> members;
    for (size_t i : front.members) members.push_back(trials[i]);
    trials = std::move(members);
  }
  sort_trials(a, tab, trials);
  if (a.limit > 0 && trials.size() > size_t(a.limit)) trials.resize(size_t(a.limit));
  print_trials(a, s, tab, trials);
  return 0;
}

// ------------------------------------------------------------------ export

}  // namespace

Recipe exported_recipe(const Study& s, const FrozenTrial& t) {
  Recipe r = parse_recipe(trial_recipe(s, t).dump(), "trial " + std::to_string(t.number));
  if (const std::optional<ProblemConfig> config = recorded_config(s))
    r.calibration = study_calibration(s, *config);
  return r;
}

void write_recipe(const Recipe& r, const std::string& path) {
  write_file_atomically(path, recipe_to_json(r));
}

namespace {

int export_recipe(const Args& a) {
  if (a.output.empty() && a.onnx.empty())
    throw UsageError(
        "export writes a recipe (-o FILE.json), a compressed model (--onnx "
        "FILE.onnx) or both; give at least one");
  refuse_input_as_output("--output", a.output, {{"study database", a.db}});
  refuse_input_as_output("--onnx", a.onnx, {{"study database", a.db}, {"recipe output", a.output}});
  const auto opened = open_read_only(a.db);
  Storage& st = *opened;
  const Study s = st.get_study(a.study);
  const auto t = st.find_trial(s.id, a.trial);
  if (!t)
    throw UsageError("study '" + s.name + "' has no trial " + std::to_string(a.trial) + " (" +
                     std::to_string(st.trials(s.id).size()) + " trials)");
  if (t->state != TrialState::kComplete)
    throw UsageError("trial " + std::to_string(a.trial) + " of study '" + s.name + "' is " +
                     to_string(t->state) + "; only COMPLETE trials have measured recipes");
  const Recipe r = exported_recipe(s, *t);
  const std::optional<ProblemConfig> config = recorded_config(s);
  if (!a.output.empty()) {
    write_recipe(r, a.output);
    std::printf("wrote %s (study '%s', trial %lld%s)\n", a.output.c_str(), s.name.c_str(),
                (long long)a.trial, config ? ", with its calibration record" : "");
  }
  if (a.onnx.empty()) return 0;
  if (!config)
    throw UsageError("study '" + s.name +
                     "' has no recorded configuration (made by ask / tell?): "
                     "export its recipe with -o and apply it with --model and --calib");
  return write_trial_model(config->model, r, a.onnx);
}

// ------------------------------------------------------------------ copy-study

int copy_study_command(const Args& a) {
  const auto from = open_read_only(a.from);
  std::string name = a.study;
  if (name.empty()) {
    const auto all = from->studies();
    if (all.size() != 1)
      throw UsageError(storage_display_name(a.from) + " has " + std::to_string(all.size()) +
                       " studies; name one with --study");
    name = all[0].name;
  }
  from->get_study(name);  // an unknown name is refused before the target is created
  const auto to = open_storage(a.to);
  const Study copy = copy_study(*from, *to, name);
  std::printf("copied study '%s' (%zu trials) from %s to %s\n", copy.name.c_str(),
              to->trials(copy.id).size(), storage_display_name(a.from).c_str(),
              storage_display_name(a.to).c_str());
  return 0;
}

}  // namespace

struct StorageCommands::State {
  Args a;
  CLI::App* studies = nullptr;
  CLI::App* trials = nullptr;
  CLI::App* exp = nullptr;
  CLI::App* copy = nullptr;
};

StorageCommands::StorageCommands(CLI::App& app) : s_(std::make_unique<State>()) {
  Args& a = s_->a;
  s_->studies = app.add_subcommand("studies", "List the studies of a trial database");
  s_->studies->add_option("--db", a.db, kDbHelp)->required();
  s_->studies->add_option("--format", a.format, "table | json")->capture_default_str();

  s_->trials = app.add_subcommand("trials", "List, filter and sort the trials of a study");
  s_->trials->add_option("--db", a.db, kDbHelp)->required();
  s_->trials->add_option("--study,-s", a.study, "study name")->required();
  s_->trials->add_option("--where", a.where,
                         "filter over objective/metric names, e.g. 'accuracy > 0.9 and "
                         "latency_ms < 2'");
  s_->trials->add_option("--sort", a.sort, "column to sort by; -name for descending");
  s_->trials->add_option("--limit", a.limit, "show at most N trials")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  s_->trials->add_flag("--pareto", a.pareto,
                       "only the front `pareto` shows: the Pareto-optimal COMPLETE trials, "
                       "feasible ones when any is feasible, else the least-violating");
  s_->trials->add_option("--format", a.format, "table | json | csv")->capture_default_str();

  s_->exp = app.add_subcommand(
      "export", "Write a trial's recipe (JSON, for apply) and/or its compressed model (ONNX)");
  s_->exp->add_option("--db", a.db, kDbHelp)->required();
  s_->exp->add_option("--study,-s", a.study, "study name")->required();
  s_->exp->add_option("--trial,-n", a.trial, "trial number")
      ->required()
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  s_->exp->add_option("--output,-o", a.output,
                      "recipe .json to write (with the study's calibration record)");
  s_->exp->add_option("--onnx", a.onnx,
                      "write the trial's compressed model here, calibrated as the study did");

  s_->copy = app.add_subcommand(
      "copy-study", "Copy a study exactly between databases (SQLite files, PostgreSQL servers)");
  s_->copy->add_option("--from", a.from, "the study's database (SQLite file or postgresql:// URI)")
      ->required();
  s_->copy->add_option("--to", a.to, "the database to copy into (an SQLite file is created)")
      ->required();
  s_->copy->add_option("--study,-s", a.study, "study name (optional when --from has one study)");
}

StorageCommands::~StorageCommands() = default;

std::optional<int> StorageCommands::run() const {
  if (*s_->studies) {
    if (s_->a.format != "table" && s_->a.format != "json")
      throw UsageError("--format must be table or json, got '" + s_->a.format + "'");
    return studies(s_->a);
  }
  if (*s_->trials) return trials(s_->a);
  if (*s_->exp) return export_recipe(s_->a);
  if (*s_->copy) return copy_study_command(s_->a);
  return std::nullopt;
}

}  // namespace autocompress::cli
