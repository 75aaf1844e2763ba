#include "hwmodels/profile.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/json.hpp"

namespace autocompress {

namespace fs = std::filesystem;
using nlohmann::json;

bool Profile::supports(Precision p) const {
  for (Precision q : precisions)
    if (q == p) return true;
  return false;
}

namespace {

constexpr const char* kKindKeys[kNumKinds] = {"conv",    "depthwise", "gemm",   "pool",
                                              "eltwise", "batchnorm", "concat", "reorder"};

// Field access with the dotted path in every message.
class Fields {
 public:
  explicit Fields(std::string file) : file_(std::move(file)) {}

  const json& need(const json& j, const std::string& key, const std::string& path) const {
    if (!j.is_object() || !j.contains(key)) fail(path, "missing");
    return j.at(key);
  }
  std::string str(const json& j, const std::string& key) const {
    const json& v = need(j, key, key);
    if (!v.is_string()) fail(key, "must be a string, got " + v.dump());
    return v.get<std::string>();
  }
  bool boolean(const json& j, const std::string& key) const {
    const json& v = need(j, key, key);
    if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }
  // A number > 0 (or >= 0 when zero_ok).
  double number(const json& j, const std::string& key, const std::string& path,
                bool zero_ok = false) const {
    const json& v = need(j, key, path);
    if (!v.is_number()) fail(path, "must be a number, got " + v.dump());
    const double x = v.get<double>();
    if (x < 0 || (!zero_ok && x == 0))
      fail(path,
           std::string("must be ") + (zero_ok ? "non-negative" : "positive") + ", got " + v.dump());
    return x;
  }
  Precision precision(const std::string& s, const std::string& path) const {
    try {
      return parse_mode(s, path);
    } catch (const UsageError&) {
      fail(path, "unknown precision '" + s + "' (expected fp32, bf16 or int8)");
    }
  }
  // An object keyed by precision with a number per key; every legal mode must be present.
  std::array<double, kNumPrecisions> by_precision(const json& j, const std::string& path,
                                                  const std::vector<Precision>& legal,
                                                  bool zero_ok) const {
    if (!j.is_object()) fail(path, "must be an object keyed by precision");
    for (const auto& [k, v] : j.items()) precision(k, path + "." + k);
    std::array<double, kNumPrecisions> r{};
    for (Precision p : legal)
      r[int(p)] = number(j, precision_name(p), path + "." + precision_name(p), zero_ok);
    return r;
  }
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw ProfileError(file_, field, what);
  }

 private:
  std::string file_;
};

void parse_energy(const json& j, const Fields& f, Profile& p) {
  const json& e = f.need(j, "energy", "energy");
  const json& label = f.need(e, "label", "energy.label");
  if (!label.is_string()) f.fail("energy.label", "must be a string");
  p.energy.label = label.get<std::string>();
  p.energy.mac_pj =
      f.by_precision(f.need(e, "mac_pj", "energy.mac_pj"), "energy.mac_pj", p.precisions, true);
  if (p.bit_flexible) {
    p.energy.mult_8x8_pj = f.number(e, "mult_8x8_pj", "energy.mult_8x8_pj", true);
    p.energy.add_8_pj = f.number(e, "add_8_pj", "energy.add_8_pj", true);
  }
  p.energy.dram_pj_per_byte = f.number(e, "dram_pj_per_byte", "energy.dram_pj_per_byte", true);
  p.energy.onchip_pj_per_byte =
      f.number(e, "onchip_pj_per_byte", "energy.onchip_pj_per_byte", true);
}

void parse_efficiency(const json& j, const Fields& f, Profile& p) {
  const json& e = f.need(j, "efficiency", "efficiency");
  if (!e.is_object()) f.fail("efficiency", "must be an object keyed by layer kind");
  for (const auto& [k, v] : e.items()) {
    bool known = false;
    for (const char* name : kKindKeys) known |= k == name;
    if (!known) f.fail("efficiency." + k, "unknown layer kind '" + k + "'");
  }
  for (int k = 0; k < kNumKinds; ++k)
    p.efficiency[k] = f.number(e, kKindKeys[k], std::string("efficiency.") + kKindKeys[k]);
}

void parse_precisions(const json& j, const Fields& f, Profile& p) {
  const json& ps = f.need(j, "precisions", "precisions");
  if (!ps.is_array() || ps.empty()) f.fail("precisions", "must be a non-empty array");
  for (size_t k = 0; k < ps.size(); ++k) {
    const std::string path = "precisions[" + std::to_string(k) + "]";
    if (!ps[k].is_string()) f.fail(path, "must be a string");
    p.precisions.push_back(f.precision(ps[k].get<std::string>(), path));
  }
  p.bit_flexible = f.boolean(j, "bit_flexible");
  if (p.bit_flexible) {
    if (!p.supports(Precision::kInt8)) f.fail("precisions", "a bit-flexible target needs int8");
    p.min_bits = int(f.number(j, "min_bits", "min_bits"));
    if (p.min_bits > 8) f.fail("min_bits", "must be <= 8, got " + std::to_string(p.min_bits));
  }
  p.mac_per_s =
      f.by_precision(f.need(j, "mac_per_s", "mac_per_s"), "mac_per_s", p.precisions, false);
}

}  // namespace

Profile parse_profile(const std::string& json_text, const std::string& file) {
  const Fields f(file);
  const json j = parse_json(json_text, [&](const std::string& w) {
    return ProfileError(file, "(document)", "not valid JSON: " + w);
  });
  if (!j.is_object()) f.fail("(document)", "must be a JSON object");
  Profile p;
  p.file = file;
  p.name = f.str(j, "name");
  p.description = f.str(j, "description");
  p.verified = f.boolean(j, "verified");
  parse_precisions(j, f, p);
  parse_efficiency(j, f, p);
  p.channel_multiple = int64_t(f.number(j, "channel_multiple", "channel_multiple"));
  p.onchip_bytes = f.number(j, "onchip_bytes", "onchip_bytes", true);
  p.dram_bytes_per_s = f.number(j, "dram_bytes_per_s", "dram_bytes_per_s");
  p.onchip_bytes_per_s = f.number(j, "onchip_bytes_per_s", "onchip_bytes_per_s");
  p.overhead_s = f.number(j, "overhead_s", "overhead_s", true);
  parse_energy(j, f, p);
  if (j.contains("sources")) {
    if (!j["sources"].is_object()) f.fail("sources", "must be an object of strings");
    for (const auto& [k, v] : j["sources"].items()) {
      if (!v.is_string()) f.fail("sources." + k, "must be a string");
      p.sources[k] = v.get<std::string>();
    }
  }
  return p;
}

Profile load_profile(const std::string& path) {
  return parse_profile(read_file(path, "cannot read profile"), path);
}

std::vector<ProfileDir> profile_dirs() {
  std::vector<ProfileDir> r;
  if (const char* d = std::getenv("AC_PROFILE_DIR"); d && *d) {
    r.push_back({d, "user"});
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    r.push_back({std::string(h) + "/.config/autocompress/profiles", "user"});
  }
  r.push_back({AC_BUNDLED_PROFILES, "bundled"});
  return r;
}

namespace {

std::string summary(const Profile& p) {
  std::string modes;
  for (Precision q : p.precisions)
    modes += std::string(modes.empty() ? "" : "/") + precision_name(q);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s; %.3g GMAC/s %s%s; %s%s", modes.c_str(),
                p.rate(p.precisions[0]) / 1e9, precision_name(p.precisions[0]),
                p.bit_flexible ? " (8x8, bit-flexible)" : "",
                p.verified ? "verified" : "unverified", p.description.empty() ? "" : " -- ");
  return buf + p.description;
}

}  // namespace

std::vector<ProfileEntry> list_profiles() {
  std::vector<ProfileEntry> r;
  std::vector<std::string> seen;
  for (const auto& dir : profile_dirs()) {
    std::error_code ec;
    if (!fs::is_directory(dir.path, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir.path, ec))
      if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      const std::string name = path.stem().string();
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      ProfileEntry e{name, path.string(), dir.origin, ""};
      try {
        e.summary = summary(load_profile(e.path));
      } catch (const Error& err) {
        e.summary = std::string("invalid: ") + err.what();
      }
      r.push_back(std::move(e));
    }
  }
  return r;
}

Profile find_profile(const std::string& name_or_path) {
  if (name_or_path.ends_with(".json") || name_or_path.find('/') != std::string::npos)
    return load_profile(name_or_path);
  for (const auto& dir : profile_dirs()) {
    const fs::path path = fs::path(dir.path) / (name_or_path + ".json");
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) return load_profile(path.string());
  }
  std::string known;
  for (const auto& e : list_profiles()) known += (known.empty() ? "" : ", ") + e.name;
  throw UsageError("unknown target '" + name_or_path + "' (known: " + known + ")");
}

}  // namespace autocompress
