#include "data/data_spec_json.hpp"

#include <string>
#include <vector>

#include "common/error.hpp"

namespace autocompress {

using nlohmann::json;

namespace {

// Reads the fields of one JSON object, naming `name` and each field's path in errors.
class Fields {
 public:
  Fields(const json& j, const std::string& name, const std::string& path,
         const std::vector<std::string>& known)
      : j_(j), name_(name), path_(path.empty() ? "" : path + ".") {
    if (!j.is_object()) fail(path, "expected a JSON object, got " + j.dump());
    for (const auto& [key, v] : j.items()) {
      bool ok = false;
      std::string list;
      for (const auto& k : known) {
        ok = ok || k == key;
        list += (list.empty() ? "" : ", ") + k;
      }
      if (!ok) fail(path_ + key, "unknown field (expected " + list + ")");
    }
  }
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw DataError(name_, "field '" + field + "': " + what);
  }
  bool has(const char* key) const { return j_.contains(key); }
  const json& at(const char* key) const {
    if (!has(key)) fail(path_ + key, "missing");
    return j_.at(key);
  }
  std::string text(const char* key) const {
    const json& v = at(key);
    if (!v.is_string()) fail(path_ + key, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  int64_t integer(const char* key, int64_t min) const {
    const json& v = at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < min)
      fail(path_ + key, "expected an integer >= " + std::to_string(min) + ", got " + v.dump());
    return v.get<int64_t>();
  }
  std::string field(const char* key) const { return path_ + key; }

 private:
  const json& j_;
  std::string name_, path_;
};

json size_json(const std::vector<int64_t>& s) { return s.size() == 1 ? json(s[0]) : json(s); }

json preprocessing_json(const Preprocessing& p) {
  json j = json::object();
  if (!p.resize.empty()) j["resize"] = size_json(p.resize);
  if (!p.center_crop.empty()) j["center_crop"] = size_json(p.center_crop);
  if (!p.norm.mean.empty()) j["mean"] = p.norm.mean;
  if (!p.norm.std.empty()) j["std"] = p.norm.std;
  j["channel_order"] = p.order == ChannelOrder::kRgb ? "RGB" : "BGR";
  j["layout"] = p.layout == Layout::kNchw ? "NCHW" : "NHWC";
  return j;
}

}  // namespace

std::string split_name(Split s) {
  switch (s) {
    case Split::kTrain:
      return "train";
    case Split::kVal:
      return "val";
    case Split::kTest:
      return "test";
  }
  return "?";
}

json data_spec_to_json(const DataSpec& spec) {
  json j = {{"source", spec.source},
            {"limit", spec.limit},
            {"cache_bytes", spec.cache_bytes},
            {"preprocessing", preprocessing_json(spec.preprocessing)}};
  if (!spec.labels.empty()) j["labels"] = spec.labels;
  if (spec.split) j["split"] = split_name(*spec.split);
  return j;
}

DataSpec data_spec_from_json(const json& j, const std::string& name, const std::string& path) {
  const Fields f(j, name, path,
                 {"source", "labels", "split", "limit", "cache_bytes", "preprocessing"});
  DataSpec s;
  s.source = f.text("source");
  if (f.has("labels")) s.labels = f.text("labels");
  if (f.has("split")) {
    const std::string split = f.text("split");
    if (split != "train" && split != "val" && split != "test")
      f.fail(f.field("split"), "expected \"train\", \"val\" or \"test\", got \"" + split + "\"");
    s.split = parse_split(split);
  }
  if (f.has("limit")) s.limit = f.integer("limit", 0);
  if (f.has("cache_bytes")) s.cache_bytes = f.integer("cache_bytes", 1);
  if (f.has("preprocessing")) {
    const json& p = f.at("preprocessing");
    if (!p.is_object()) f.fail(f.field("preprocessing"), "expected a JSON object, got " + p.dump());
    s.preprocessing = parse_preprocessing(p.dump(), name + ": " + f.field("preprocessing"));
  }
  return s;
}

json fingerprint_to_json(const Fingerprint& fp) {
  return {{"files", fp.files}, {"bytes", fp.bytes}, {"list_hash", fp.list_hash}};
}

Fingerprint fingerprint_from_json(const json& j, const std::string& name, const std::string& path) {
  const Fields f(j, name, path, {"files", "bytes", "list_hash"});
  Fingerprint fp;
  fp.files = f.integer("files", 0);
  fp.bytes = f.integer("bytes", 0);
  fp.list_hash = f.text("list_hash");
  return fp;
}

}  // namespace autocompress
