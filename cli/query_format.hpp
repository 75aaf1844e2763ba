// Small helpers shared by the read-only query commands (storage_commands, pareto_commands):
// opening the trial database read-only, formatting numbers and CSV fields, the note on a front.
#pragma once

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "search/report/front.hpp"
#include "storage/open_storage.hpp"

namespace autocompress::cli {

// Read-only: a query never changes or blocks a running search. `db` is an SQLite path or a
// PostgreSQL URI (storage/open_storage.hpp).
inline std::unique_ptr<Storage> open_read_only(const std::string& db) {
  return open_storage(db, {.read_only = true});
}

// "%.6g", "-" for NaN.
inline std::string num(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

inline nlohmann::json num_json(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

// Quoted (RFC 4180) when it holds a comma, quote or newline.
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// On stderr, when a study's front (search/report/front.hpp) is empty or not feasible: `trials`
// names what the front was taken of ("study 'cnn'").
inline void note_front(const TrialFront& front, const std::string& trials) {
  if (front.members.empty())
    std::fprintf(stderr, "autocompress: note: %s has no COMPLETE trial with all values\n",
                 trials.c_str());
  else if (!front.feasible)
    std::fprintf(stderr,
                 "autocompress: note: no feasible COMPLETE trial (every constraint <= 0); "
                 "showing the least-violating front\n");
}

}  // namespace autocompress::cli
