#include "search/samplers/settings.hpp"

#include <cmath>

#include "common/error.hpp"
#include "common/json.hpp"

namespace autocompress {

SamplerSettings::SamplerSettings(std::string sampler, const std::string& json_text)
    : sampler_(std::move(sampler)) {
  if (json_text.find_first_not_of(" \t\r\n") == std::string::npos) {
    json_ = nlohmann::json::object();
    return;
  }
  json_ = parse_json(json_text, [&](const std::string& w) {
    return UsageError("sampler '" + sampler_ + "': settings are not valid JSON: " + w);
  });
  if (!json_.is_object())
    throw UsageError("sampler '" + sampler_ + "': settings must be a JSON object, got " +
                     json_.dump());
}

std::string SamplerSettings::where(const std::string& key) const {
  return "sampler '" + sampler_ + "': setting '" + key + "'";
}

const nlohmann::json* SamplerSettings::find(const std::string& key) {
  used_.insert(key);
  const auto it = json_.find(key);
  return it == json_.end() ? nullptr : &*it;
}

int64_t SamplerSettings::integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_number_integer() || v->get<int64_t>() < lo || v->get<int64_t>() > hi)
    throw UsageError(where(key) + " must be an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got " + v->dump());
  return v->get<int64_t>();
}

double SamplerSettings::number(const std::string& key, double fallback, double lo, double hi) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_number() || !(v->get<double>() >= lo && v->get<double>() <= hi))
    throw UsageError(where(key) + " must be a number in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got " + v->dump());
  return v->get<double>();
}

std::string SamplerSettings::choice(const std::string& key, const std::string& fallback,
                                    const std::vector<std::string>& allowed) {
  const auto* v = find(key);
  if (!v) return fallback;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  if (v->is_string())
    for (const auto& a : allowed)
      if (v->get<std::string>() == a) return a;
  throw UsageError(where(key) + " must be one of " + list + ", got " + v->dump());
}

std::string SamplerSettings::object(const std::string& key) {
  const auto* v = find(key);
  if (!v) return "";
  if (!v->is_object()) throw UsageError(where(key) + " must be a JSON object, got " + v->dump());
  return v->dump();
}

void SamplerSettings::finish() const {
  std::string unknown;
  for (const auto& [key, value] : json_.items())
    if (!used_.count(key)) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
  if (!unknown.empty())
    throw UsageError("sampler '" + sampler_ + "': unknown setting(s) " + unknown);
}

}  // namespace autocompress
