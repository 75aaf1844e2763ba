// The options of a study run that the --config file and the flags of `search` set (study name,
// sampler, its settings and seed, budget, workers, warm start), described by their table like
// the problem's configuration (search/study/problem_config.hpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/config_table.hpp"

namespace autocompress {

struct StudyOptions {
  std::string name = "autocompress";
  std::string sampler = "auto";
  std::string sampler_settings;  // JSON text
  uint64_t seed = 0;
  int64_t trials = 0;    // finished trials to reach in this study (0 = no limit)
  double timeout_s = 0;  // wall-time budget of this run (0 = no limit)
  int workers = 1;
  int cores = 0;  // 0 = hardware concurrency
  bool warm_start = true;
  double heartbeat_s = 10;
  std::string worker_name;  // default: host:pid
};

// The keys of StudyOptions that a config file sets: study, sampler, sampler_settings (text or a
// JSON object), seed, trials, timeout (seconds or a duration like "8h"), workers, warm_start.
const ConfigTable<StudyOptions>& study_options_table();
// `base` with the keys of `j` read into it; ConfigError naming the key for an unknown key or a
// bad value.
StudyOptions parse_study_options(const nlohmann::json& j, StudyOptions base = {});

// "8h", "30m", "90s", "1.5h", "2d" or plain seconds; ConfigError naming `key` otherwise.
double parse_duration(const std::string& s, const std::string& key);

}  // namespace autocompress
