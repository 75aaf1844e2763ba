#include "cli/serve_commands.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/search_commands.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "storage/heartbeat.hpp"
#include "storage/open_storage.hpp"

namespace autocompress::cli {

namespace {

using nlohmann::json;

json value_json(const std::variant<double, std::string>& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::get<std::string>(v);
}

json params_json(const std::vector<Param>& params) {
  json j = json::object();
  for (const auto& p : params) j[p.name] = value_json(p.value);
  return j;
}

json hello(const Study& st, const CompressionProblem& problem, const std::string& db,
           size_t trials) {
  json knobs = json::array();
  for (const auto& k : problem.space().space.knobs) {
    json values = json::array();
    for (const auto& v : k.levels) values.push_back(value_json(v));
    knobs.push_back({{"name", k.name},
                     {"values", values},
                     {"fixed", k.fixed >= 0 ? json(k.fixed) : json(nullptr)}});
  }
  json objectives = json::array();
  for (const auto& o : st.objectives)
    objectives.push_back({{"name", o.name}, {"direction", to_string(o.direction)}});
  json baselines = json::array();
  for (const auto& b : warm_start_baselines(problem.space()))
    baselines.push_back(
        {{"name", b.name}, {"params", params_json(candidate_params(problem.space(), b.x))}});
  return {{"hello", "autocompress serve"},
          {"study", st.name},
          {"db", db},
          {"trials", trials},
          {"knobs", knobs},
          {"objectives", objectives},
          {"constraints", st.constraints},
          {"baselines", baselines},
          {"reference_point", st.reference_point}};
}

// The candidate of a request line; UsageError naming the field otherwise.
Candidate parse_request(const CompressionProblem& problem, const std::string& line) {
  json j = parse_json(line, [](const std::string& w) { return UsageError("line: " + w); });
  if (!j.is_object() || !j.contains("params") || !j["params"].is_object())
    throw UsageError("params: missing (expected an object of knob values)");
  const auto& space = problem.space().space;
  std::vector<Param> params;
  for (const auto& [name, v] : j["params"].items()) {
    if (!v.is_number() && !v.is_string())
      throw UsageError("params." + name + ": expected a number or a string, got " + v.dump());
    const bool known = std::any_of(space.knobs.begin(), space.knobs.end(),
                                   [&](const Knob& k) { return k.name == name; });
    if (!known) throw UsageError("params." + name + ": not a knob of this study");
    params.push_back(
        {name, v.is_number() ? ParamValue(v.get<double>()) : ParamValue(v.get<std::string>())});
  }
  for (const auto& k : space.knobs)  // frozen knobs may be left out
    if (k.fixed >= 0 && !j["params"].contains(k.name))
      params.push_back({k.name, k.levels.at(size_t(k.fixed))});
  try {
    const Candidate x = candidate_from_params(problem.space(), params);
    check_candidate(space, x);
    return x;
  } catch (const UsageError& e) {
    throw UsageError("params: " + std::string(e.what()));
  }
}

json nullable(const std::vector<double>& v) {
  json out = json::array();
  for (double d : v) out.push_back(std::isnan(d) ? json(nullptr) : json(d));
  return out;
}

// One trial as the search loop runs it: reserve, record params, evaluate (early stopping against
// the constraint and the current front), tell.
json serve_one(Storage& storage, const Study& st, const CompressionProblem& problem,
               StudyCache& cache, const Candidate& x, const std::string& worker) {
  const auto t0 = std::chrono::steady_clock::now();
  const FrozenTrial t = storage.ask(st.id, worker);
  storage.set_params(st.id, t.number, candidate_params(problem.space(), x));
  Evaluation ev;
  {
    Heartbeat hb(storage, st.id, t.number, 10);
    cache.refresh(storage);  // the front as it is now, without reading the whole study
    ev = problem.evaluate(x, 0, {}, cache.front());
  }
  storage.tell(st.id, t.number, ev.result);
  json r{{"number", t.number},
         {"state", to_string(ev.result.state)},
         {"values", nullable(ev.result.values)},
         {"constraints", nullable(ev.result.constraints)},
         {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  if (!ev.result.error.empty()) r["error"] = ev.result.error;
  return r;
}

}  // namespace

struct ServeCommands::State {
  CLI::App* serve = nullptr;
  std::unique_ptr<ProblemFlags> flags;
};

ServeCommands::ServeCommands(CLI::App& app) : s_(std::make_unique<State>()) {
  s_->serve = app.add_subcommand(
      "serve", "Evaluate candidates proposed by another program (JSON lines on stdin/stdout)");
  s_->flags = std::make_unique<ProblemFlags>(s_->serve);
}

ServeCommands::~ServeCommands() = default;

std::optional<int> ServeCommands::run() const {
  if (!*s_->serve) return std::nullopt;
  auto [pc, so] = s_->flags->effective();
  if (!s_->flags->given("sampler")) so.sampler = "external";  // the proposer's name, recorded
  const CompressionProblem problem(pc);
  const auto opened = open_storage(s_->flags->db());
  Storage& storage = *opened;
  const Study st = open_study(storage, problem, so, /*compare_sampler=*/false);
  std::cout << hello(st, problem, storage_display_name(s_->flags->db()),
                     storage.trials(st.id).size())
                   .dump()
            << "\n"
            << std::flush;
  const std::string worker = "serve:" + std::to_string(::getpid());
  StudyCache cache(problem, st);
  for (std::string line; std::getline(std::cin, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json reply;
    try {
      reply = serve_one(storage, st, problem, cache, parse_request(problem, line), worker);
    } catch (const UsageError& e) {
      const std::string what = e.what();
      reply = {{"error", what}, {"field", what.substr(0, what.find(':'))}};
    }
    std::cout << reply.dump() << "\n" << std::flush;
  }
  return 0;
}

}  // namespace autocompress::cli
