#include "cli/search_commands.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/config_flags.hpp"
#include "cli/data_flags.hpp"
#include "cli/format.hpp"
#include "cli/progress.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json.hpp"
#include "search/study/study.hpp"
#include "storage/open_storage.hpp"

namespace autocompress::cli {

namespace {

using nlohmann::json;

struct Args {
  // problem: its flags are made from its table (Flags), and override the --config file, which
  // overrides the defaults
  std::string config;
  // study: its flags are made from its table (Flags), but --study, which `ask` and `tell` share
  std::string db = "autocompress_study.db", study = "autocompress", log;
  int64_t trial = -1, limit = 1000;
  bool quiet = false;
  std::string values, state = "COMPLETE";
  // How long `ask` keeps its trial reserved (and `heartbeat` extends it): a fine-tuning run or a
  // device measurement takes hours, and nobody sends heartbeats meanwhile.
  std::string lease = "8h";
};

std::atomic<StudyRunner*> g_runner{nullptr};

extern "C" void on_signal(int) {
  if (StudyRunner* r = g_runner.load()) r->request_stop();
}

// The problem and study flags of one command. The data keys of the problem come from the data
// flags every command shares (cli/data_flags.hpp), not from the table.
struct Flags {
  std::unique_ptr<ConfigFlags> problem;  // from problem_config_table()
  std::unique_ptr<ConfigFlags> study;    // from study_options_table()
  DataFlags data{kDefaultData, "", "val"}, calib{"", "", "train", ProblemConfig{}.calib_limit};
  PreprocessFlags pre;
};

// The config keys the data flags set.
const std::vector<std::string> kDataKeys = {
    "data",       "labels", "split",       "val_limit", "calib", "calib_split",   "calib_limit",
    "preprocess", "resize", "center_crop", "mean",      "std",   "channel_order", "layout"};

// {key: value} of the data flags given.
json given_data(const Flags& f) {
  json j = json::object();
  if (given(f.data.source_option)) j["data"] = f.data.source;
  if (given(f.data.labels_option)) j["labels"] = f.data.labels;
  if (given(f.data.split_option)) j["split"] = f.data.split;
  if (given(f.data.limit_option)) j["val_limit"] = f.data.limit;
  if (given(f.calib.source_option)) j["calib"] = f.calib.source;
  if (given(f.calib.split_option)) j["calib_split"] = f.calib.split;
  if (given(f.calib.limit_option)) j["calib_limit"] = f.calib.limit;
  const PreprocessFlags& p = f.pre;
  if (!p.file.empty()) j["preprocess"] = p.file;
  if (!p.resize.empty()) j["resize"] = p.resize;
  if (!p.center_crop.empty()) j["center_crop"] = p.center_crop;
  if (!p.mean.empty()) j["mean"] = p.mean;
  if (!p.std.empty()) j["std"] = p.std;
  if (p.bgr) j["channel_order"] = "BGR";
  if (p.nhwc) j["layout"] = "NHWC";
  return j;
}

struct State {
  Args a;
  CLI::App* search = nullptr;
  CLI::App* ask = nullptr;
  CLI::App* tell = nullptr;
  CLI::App* beat = nullptr;
  CLI::App* sens = nullptr;
  Flags search_flags, sens_flags;
};

void add_problem_flags(CLI::App* c, Args& a, Flags& flags, bool search) {
  flags.problem = std::make_unique<ConfigFlags>(c, problem_config_table().info(), kDataKeys);
  // --val-limit and --calib-limit: the names search had before the shared data flags.
  add_data_flags(*c, flags.data, flags.pre, {"", "", "--val-limit"});
  add_calib_flags(*c, flags.calib, nullptr, "--calib-limit");
  c->add_option("--config", a.config, "study.json with the same settings (flags override it)");
  c->add_option("--db", a.db, kDbHelp)->capture_default_str();
  c->add_option("--study", a.study, "study name")->capture_default_str();
  c->add_flag("--quiet,-q", a.quiet, "no progress lines on the terminal");
  // The budget is `search`'s alone.
  const std::vector<std::string> budget = {"trials", "timeout", "workers"};
  flags.study = std::make_unique<ConfigFlags>(c, study_options_table().info(),
                                              search ? std::vector<std::string>{} : budget);
  if (!search) return;
  c->add_option("--log", a.log,
                "append progress lines (one a minute or per 25 trials) to this file");
}

bool key_given(const Flags& f, const std::string& key) {
  return f.problem->given(key) || f.study->given(key) || given_data(f).contains(key);
}

// The effective problem and study options: defaults <- --config <- flags.
std::pair<ProblemConfig, StudyOptions> effective(const Args& a, const Flags& s) {
  ProblemConfig pc;
  pc.model = embedded_example_path();
  StudyOptions so;
  so.name = a.study;
  if (!a.config.empty()) {
    json j = parse_json(read_file(a.config, "cannot read the config file"),
                        [&](const std::string& w) { return UsageError(a.config + ": " + w); });
    if (!j.is_object()) throw UsageError(a.config + ": expected a JSON object");
    json study = json::object();  // the study options' keys; "db" is the --db flag's alone
    for (const auto& f : study_options_table().fields())
      if (j.contains(f.info.key)) study[f.info.key] = j[f.info.key], j.erase(f.info.key);
    j.erase("db");
    so = parse_study_options(study, so);
    pc = parse_problem_config(j, pc);
  }
  json flags = s.problem->given_json();  // flags override; validates
  flags.update(given_data(s));
  pc = parse_problem_config(flags, pc);
  so = parse_study_options(s.study->given_json(), so);
  if (so.workers < 1) throw UsageError("--workers must be >= 1, got " + std::to_string(so.workers));
  // 0 means "no limit" only as the unset default (a --timeout alone bounds the run).
  if (so.trials < 0 || (so.trials == 0 && key_given(s, "trials")))
    throw UsageError("--trials must be >= 1 (omit it to stop at --timeout only), got " +
                     std::to_string(so.trials));
  if (so.trials == 0 && so.timeout_s == 0 && !key_given(s, "trials")) so.trials = 50;
  return {pc, so};
}

// What the data sources were detected as (stderr, the progress output).
void print_data(const CompressionProblem& p) {
  std::fprintf(stderr, "validation data: %s (%s)\ncalibration data: %s (%s)\n",
               p.validation_data().kind.c_str(), p.validation_data().spec.source.c_str(),
               p.calibration_data().kind.c_str(), p.calibration_data().spec.source.c_str());
}

void print_summary(const Study& st, const StudySummary& s, const std::string& db) {
  std::printf(
      "study '%s': %lld complete, %lld pruned, %lld failed; feasible front %zu, "
      "hypervolume %.4g\n",
      st.name.c_str(), (long long)s.complete, (long long)s.pruned, (long long)s.failed,
      s.front_size, s.hypervolume);
  for (size_t j = 0; j < s.best.size(); ++j)
    std::printf("  best %-12s %.4g\n", st.objectives[j].name.c_str(), s.best[j]);
  std::printf("the front: autocompress pareto --db %s --study %s\n",
              storage_display_name(db).c_str(), st.name.c_str());
}

int run_search(const State& s) {
  const auto [pc, so] = effective(s.a, s.search_flags);
  const CompressionProblem problem(pc);
  const auto opened = open_storage(s.a.db);
  Storage& storage = *opened;
  StudyRunner runner(storage, problem, so);
  if (!s.a.quiet) {
    print_data(problem);
    std::fprintf(stderr, "study '%s' in %s: %zu knobs, original accuracy %.4f on %lld images\n",
                 so.name.c_str(), storage_display_name(s.a.db).c_str(),
                 problem.space().space.size(), problem.original_accuracy(),
                 (long long)problem.validation_size());
  }
  std::vector<std::string> objectives;
  for (const auto& o : runner.study().objectives) objectives.push_back(o.name);
  ProgressPrinter progress(
      objectives,
      {.terminal = isatty(fileno(stderr)) == 1, .quiet = s.a.quiet, .log_path = s.a.log}, stderr);
  g_runner.store(&runner);
  struct sigaction act {};
  act.sa_handler = on_signal;
  sigemptyset(&act.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &act, &old_int);
  sigaction(SIGTERM, &act, &old_term);
  StudySummary sum;
  try {
    sum = runner.run(std::ref(progress));
  } catch (...) {
    g_runner.store(nullptr);
    sigaction(SIGINT, &old_int, nullptr), sigaction(SIGTERM, &old_term, nullptr);
    throw;
  }
  g_runner.store(nullptr);
  sigaction(SIGINT, &old_int, nullptr), sigaction(SIGTERM, &old_term, nullptr);
  print_summary(runner.study(), sum, s.a.db);
  return 0;
}

// The problem and options a study recorded (for ask / tell on an existing study).
std::pair<ProblemConfig, StudyOptions> recorded(const Study& st) {
  const std::optional<ProblemConfig> config = recorded_config(st);
  if (!config)
    throw UsageError("study '" + st.name + "' was not made by `autocompress search` (no config)");
  const ProblemConfig& pc = *config;
  StudyOptions so;
  so.name = st.name;
  so.sampler = st.sampler;
  so.sampler_settings = st.sampler_settings;
  if (auto s = st.user_attrs.find("seed"); s != st.user_attrs.end())
    so.seed = std::stoull(s->second);
  if (auto w = st.user_attrs.find("warm_start"); w != st.user_attrs.end())
    so.warm_start = w->second == "true";
  return {pc, so};
}

std::string reserved_until(const Storage& storage, const Study& st, int64_t number) {
  const auto t = storage.find_trial(st.id, number);
  return t && t->lease_until > 0 ? utc_time(t->lease_until) : "its heartbeat grace ends (no lease)";
}

// A trial whose reservation ended (failed as stale) cannot be told or extended: say so and what to
// do, rather than the storage's "only RUNNING trials can change".
void refuse_if_stale(const Storage& storage, const Study& st, const Args& a) {
  const auto t = storage.find_trial(st.id, a.trial);
  if (!t || !failed_as_stale(*t)) return;
  std::string copy = "it was itself a re-queued copy, so it was not re-queued again";
  for (const auto& o : storage.trials(st.id))
    if (o.requeued_from == t->number)
      copy = "its recipe was re-queued as trial " + std::to_string(o.number) + " (now " +
             to_string(o.state) + "), which `autocompress ask` hands out before any new trial";
  const std::string db = storage_display_name(a.db);
  throw DataError(
      db, "trial " + std::to_string(t->number) + " of study '" + st.name +
              "' was failed as stale at " + utc_time(t->finished_at) + " (" + t->error +
              "), so its reservation is gone and nothing can be recorded on it; " + copy +
              ". Reserve with a lease longer than your evaluation (ask --lease, default 8h) or "
              "extend it while you work (autocompress heartbeat --db " +
              db + " --study " + st.name + " --trial <N> --lease 8h)");
}

int run_ask(const State& s) {
  const auto opened = open_storage(s.a.db);
  Storage& storage = *opened;
  const Study st = storage.get_study(s.a.study);
  const auto [pc, so] = recorded(st);
  const CompressionProblem problem(pc);
  StudyRunner runner(storage, problem, so);
  const auto asked = runner.ask_one();
  storage.lease(st.id, asked.number, parse_duration(s.a.lease, "lease"));
  json r = json::parse(asked.recipe_json);
  r["metrics"] = {{"study", st.name}, {"trial", asked.number}};
  std::cout << r.dump(2) << "\n";
  const std::string where = "--db " + storage_display_name(s.a.db) + " --study " + st.name +
                            " --trial " + std::to_string(asked.number);
  std::fprintf(stderr,
               "reserved trial %lld of study '%s' until %s (extend it with: autocompress "
               "heartbeat %s --lease 8h); record it with: autocompress tell %s --values <%zu "
               "values>\n",
               (long long)asked.number, st.name.c_str(),
               reserved_until(storage, st, asked.number).c_str(), where.c_str(), where.c_str(),
               st.objectives.size());
  return 0;
}

int run_tell(const State& s) {
  const auto opened = open_storage(s.a.db);
  Storage& storage = *opened;
  const Study st = storage.get_study(s.a.study);
  refuse_if_stale(storage, st, s.a);
  std::vector<double> values;
  for (const auto& v : split_list(s.a.values)) {
    try {
      values.push_back(std::stod(v));
    } catch (const std::exception&) {
      throw UsageError("--values: '" + v + "' is not a number");
    }
  }
  tell_values(storage, st, s.a.trial, values, s.a.state);
  std::printf("recorded trial %lld of study '%s' (%s)\n", (long long)s.a.trial, st.name.c_str(),
              s.a.state.c_str());
  return 0;
}

int run_heartbeat(const State& s) {
  const auto opened = open_storage(s.a.db);
  Storage& storage = *opened;
  const Study st = storage.get_study(s.a.study);
  refuse_if_stale(storage, st, s.a);
  storage.lease(st.id, s.a.trial, parse_duration(s.a.lease, "lease"));
  std::printf("trial %lld of study '%s' is reserved until %s\n", (long long)s.a.trial,
              st.name.c_str(), reserved_until(storage, st, s.a.trial).c_str());
  return 0;
}

int run_sensitivity(const State& s) {
  const auto [pc, so] = effective(s.a, s.sens_flags);
  const CompressionProblem problem(pc);
  if (!s.a.quiet) print_data(problem);
  const auto opened = open_storage(s.a.db);
  Storage& storage = *opened;
  StudyRunner runner(storage, problem, so);  // creates or checks the study
  const auto curves = problem.sensitivity(s.a.limit, 0, [&](const std::string& line) {
    if (!s.a.quiet) std::fprintf(stderr, "%s\n", line.c_str());
  });
  storage.set_study_user_attr(runner.study().id, "sensitivity", sensitivity_json(curves).dump());
  std::printf("%-40s %s\n", "knob", "accuracy drop (points) at its levels");
  for (const auto& c : curves) {
    std::printf("%-40s", c.knob.c_str());
    for (size_t i = 0; i < c.drop.size(); ++i) std::printf(" %8.2f+-%.2f", c.drop[i], c.se[i]);
    std::printf("\n");
  }
  std::printf("stored %zu curves in study '%s' (user attr \"sensitivity\")\n", curves.size(),
              runner.study().name.c_str());
  return 0;
}

}  // namespace

struct SearchCommands::State : cli::State {};

struct FlagsState {  // ProblemFlags'
  Args a;
  Flags flags;
};

ProblemFlags::ProblemFlags(CLI::App* command) : s_(std::make_unique<FlagsState>()) {
  add_problem_flags(command, s_->a, s_->flags, false);
}
ProblemFlags::~ProblemFlags() = default;
std::pair<ProblemConfig, StudyOptions> ProblemFlags::effective() const {
  return cli::effective(s_->a, s_->flags);
}
bool ProblemFlags::given(const std::string& key) const { return key_given(s_->flags, key); }
const std::string& ProblemFlags::db() const { return s_->a.db; }

SearchCommands::SearchCommands(CLI::App& app) : s_(std::make_unique<State>()) {
  Args& a = s_->a;
  s_->search = app.add_subcommand("search", "Search Pareto-optimal compression recipes");
  add_problem_flags(s_->search, a, s_->search_flags, true);
  s_->sens =
      app.add_subcommand("sensitivity", "Each knob alone at 3 levels; curves stored in the study");
  add_problem_flags(s_->sens, a, s_->sens_flags, false);
  s_->sens
      ->add_option("--images", a.limit, "validation images per evaluation (of the --limit ones)")
      ->capture_default_str();
  s_->ask = app.add_subcommand("ask", "Reserve the next trial and print its recipe (JSON)");
  s_->ask->add_option("--db", a.db, kDbHelp)->required();
  s_->ask->add_option("--study", a.study, "study name")->required();
  s_->ask->add_option("--lease", a.lease, "keep the trial reserved this long (8h, 30m, 0 = none)")
      ->capture_default_str();
  s_->tell = app.add_subcommand("tell", "Record an external evaluation of a reserved trial");
  s_->tell->add_option("--db", a.db, kDbHelp)->required();
  s_->tell->add_option("--study", a.study, "study name")->required();
  s_->tell->add_option("--trial", a.trial, "trial number from ask")->required();
  s_->tell->add_option("--values", a.values, "objective values in the study's order, a,b,c");
  s_->tell->add_option("--state", a.state, "COMPLETE | PRUNED | FAIL")->capture_default_str();
  s_->beat = app.add_subcommand("heartbeat", "Extend the reservation of a trial from ask");
  s_->beat->add_option("--db", a.db, kDbHelp)->required();
  s_->beat->add_option("--study", a.study, "study name")->required();
  s_->beat->add_option("--trial", a.trial, "trial number from ask")->required();
  s_->beat->add_option("--lease", a.lease, "reserved from now on for this long")
      ->capture_default_str();
}

SearchCommands::~SearchCommands() = default;

std::optional<int> SearchCommands::run() const {
  if (*s_->search) return run_search(*s_);
  if (*s_->ask) return run_ask(*s_);
  if (*s_->tell) return run_tell(*s_);
  if (*s_->beat) return run_heartbeat(*s_);
  if (*s_->sens) return run_sensitivity(*s_);
  return std::nullopt;
}

}  // namespace autocompress::cli
