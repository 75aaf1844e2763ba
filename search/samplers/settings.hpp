// A sampler's settings from JSON text ("" or "{}" = defaults), validated as they are read:
// each getter names the sampler, the key, the value seen and the range expected in its UsageError;
// `finish()` rejects keys no getter asked for (a typo must not silently run the defaults).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace autocompress {

class SamplerSettings {
 public:
  SamplerSettings(std::string sampler, const std::string& json_text);

  int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi);
  double number(const std::string& key, double fallback, double lo, double hi);
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  // A nested object as JSON text ("" when absent), e.g. the settings "auto" passes on to "nsga2".
  std::string object(const std::string& key);
  // Throws UsageError naming every key that no getter read.
  void finish() const;

 private:
  const nlohmann::json* find(const std::string& key);
  std::string where(const std::string& key) const;

  std::string sampler_;
  nlohmann::json json_;
  std::set<std::string> used_;
};

}  // namespace autocompress
