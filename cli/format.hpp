// Small text helpers of the CLI's printed output.
#pragma once

#include <string>

#include "common/format.hpp"

namespace autocompress::cli {

// The help of every --db option: storage/open_storage.hpp decides which backend a value opens.
inline constexpr const char* kDbHelp =
    "trial database: an SQLite file, or postgresql://user@host:port/dbname (password from "
    "PGPASSWORD or ~/.pgpass)";

using autocompress::fmt;  // one number through a printf format, e.g. fmt("%.4g", hv)

// 1234567 -> "1.23 M", 1500 -> "1.5 k", 12 -> "12 " (a unit follows).
inline std::string human(double v) {
  if (v >= 1e9) return fmt("%.2f G", v / 1e9);
  if (v >= 1e6) return fmt("%.2f M", v / 1e6);
  if (v >= 1e3) return fmt("%.1f k", v / 1e3);
  return fmt("%.0f ", v);
}

}  // namespace autocompress::cli
