// Small helpers shared by the read-only query commands (storage_commands, pareto_commands):
// opening the trial database read-only and formatting numbers and CSV fields.
#pragma once

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "storage/sqlite_storage.hpp"

namespace autocompress::cli {

// Read-only: a query never changes or blocks a running search.
inline SqliteStorage open_read_only(const std::string& db) {
  SqliteOptions o;
  o.read_only = true;
  return SqliteStorage(db, o);
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

}  // namespace autocompress::cli
