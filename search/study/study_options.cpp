#include "search/study/study_options.hpp"

#include <utility>

namespace autocompress {

namespace {

using nlohmann::json;
using O = StudyOptions;

ConfigTable<O> make_table() {
  return ConfigTable<O>({
      field("study", &O::name, "", "study name"),
      field("sampler", &O::sampler, "--sampler", "random | nsga2 | bo | auto"),
      {{"sampler_settings", FieldKind::kString, "--sampler-settings", "JSON"},
       [](O& o, const json& v) {
         o.sampler_settings = v.is_string() ? v.get<std::string>() : v.dump();
       },
       [](const O& o) { return json(o.sampler_settings); },
       {}},
      field("seed", &O::seed, "--seed", "sampler seed"),
      field("trials", &O::trials, "--trials,-n", "finished trials to reach in the study"),
      {{"timeout", FieldKind::kString, "--timeout", "wall-time budget of this run: 8h, 30m, 90s"},
       [](O& o, const json& v) {
         o.timeout_s =
             v.is_string() ? parse_duration(v.get<std::string>(), "timeout") : v.get<double>();
       },
       [](const O& o) { return json(o.timeout_s); },
       {}},
      field("workers", &O::workers, "--workers,-w", "candidates evaluated at once"),
      field("warm_start", &O::warm_start, "--no-warm-start", "skip the uniform baselines"),
  });
}

}  // namespace

const ConfigTable<StudyOptions>& study_options_table() {
  static const ConfigTable<StudyOptions> table = make_table();
  return table;
}

StudyOptions parse_study_options(const json& j, StudyOptions base) {
  return study_options_table().parse(j, std::move(base));
}

double parse_duration(const std::string& s, const std::string& key) {
  if (s.empty()) return 0;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = s.substr(used);
  const double scale = unit.empty() || unit == "s" ? 1
                       : unit == "m"               ? 60
                       : unit == "h"               ? 3600
                       : unit == "d"               ? 86400
                                                   : -1;
  if (used == 0 || scale < 0 || v < 0)
    throw ConfigError(key,
                      key_ref(key) + ": expected a duration like 8h, 30m, 90s, got '" + s + "'");
  return v * scale;
}

}  // namespace autocompress
