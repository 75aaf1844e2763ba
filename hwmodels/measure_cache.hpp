// A per-machine cache of per-layer latency measurements in SQLite, keyed by the layer signature
// (hwmodels/measure.hpp), so a shape is measured once per machine across searches.
// Default file: $AC_MEASURE_CACHE, else ~/.cache/autocompress/measurements.db. WAL journal, so
// several processes may read while one writes; one MeasureCache object is not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace autocompress {

struct CachedMeasurement {
  std::string signature;
  double seconds = 0;       // median
  int repeats = 0;          // runs the median is over
  std::string measured_at;  // UTC, "YYYY-MM-DD HH:MM:SS"
};

// $AC_MEASURE_CACHE, else $HOME/.cache/autocompress/measurements.db.
std::string default_measure_cache_path();

class MeasureCache {
 public:
  // Opens (creating the file, its directory and the table when missing). Throws IoError naming
  // the file when it cannot be opened or is not a measurement cache.
  explicit MeasureCache(const std::string& path = default_measure_cache_path());
  ~MeasureCache();
  MeasureCache(const MeasureCache&) = delete;
  MeasureCache& operator=(const MeasureCache&) = delete;

  std::optional<CachedMeasurement> get(const std::string& signature) const;
  // Inserts or replaces the entry of `signature`, stamped with the current time.
  void put(const std::string& signature, double seconds, int repeats);
  // Every entry, ordered by signature.
  std::vector<CachedMeasurement> all() const;
  const std::string& path() const { return path_; }

 private:
  void exec(const char* sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

// The cache a host prediction reads (profile --target host, the search's measured latency
// model): `path` when given (IoError when it cannot be opened), else the default path; an unusable
// default (no home directory) gives std::nullopt with the reason in *why, so the host model is
// uncached rather than failing.
std::optional<MeasureCache> open_measure_cache(const std::string& path, std::string* why = nullptr);

}  // namespace autocompress
