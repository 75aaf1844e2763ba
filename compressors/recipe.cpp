#include "compressors/recipe.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/json.hpp"
#include "data/data_spec_json.hpp"

namespace autocompress {

using nlohmann::json;

namespace {
LayerSettings merged(LayerSettings s, const LayerOverride& o) {
  if (o.prune) s.prune = *o.prune;
  if (o.precision) s.precision = *o.precision;
  if (o.wbits) s.wbits = *o.wbits;
  if (o.rank) s.rank = *o.rank;
  return s;
}
}  // namespace

LayerSettings Recipe::settings(const std::string& layer) const {
  auto it = layers.find(layer);
  return it == layers.end() ? defaults : merged(defaults, it->second);
}

namespace {

// Reads one settings object ("defaults" or a layer entry) with field paths for messages.
class FieldReader {
 public:
  FieldReader(const std::string& source, const std::string& path) : src_(source), path_(path) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw RecipeError(src_, field.empty() ? path_ : path_ + "." + field, what);
  }
  std::string shown(const json& v) const { return v.dump(); }

  LayerOverride read(const json& j) const {
    if (!j.is_object()) fail("", "must be an object, got " + shown(j));
    LayerOverride o;
    for (const auto& [key, v] : j.items()) {
      if (key == "prune") {
        o.prune = number(key, v);
        if (!(*o.prune >= 0 && *o.prune <= kMaxPrune))
          fail(key, "must be in [0, 0.9] (fraction of output channels removed), got " + shown(v));
      } else if (key == "rank") {
        o.rank = number(key, v);
        if (!(*o.rank > 0 && *o.rank <= 1)) fail(key, "must be in (0, 1], got " + shown(v));
      } else if (key == "wbits") {
        if (!v.is_number_integer()) fail(key, "must be an integer in 2..8, got " + shown(v));
        const int64_t b = v.get<int64_t>();
        if (b < 2 || b > 8) fail(key, "must be an integer in 2..8, got " + shown(v));
        o.wbits = int(b);
      } else if (key == "precision") {
        o.precision = v.is_string() ? parse_precision(v.get<std::string>()) : std::nullopt;
        if (!o.precision) fail(key, "must be one of \"fp32\", \"bf16\", \"int8\", got " + shown(v));
      } else {
        fail(key, "unknown field (known: prune, precision, wbits, rank)");
      }
    }
    return o;
  }

 private:
  double number(const std::string& key, const json& v) const {
    if (!v.is_number()) fail(key, "must be a number, got " + shown(v));
    return v.get<double>();
  }
  std::string src_, path_;
};

json settings_json(const LayerOverride& o) {
  json j = json::object();
  if (o.prune) j["prune"] = *o.prune;
  if (o.precision) j["precision"] = precision_name(*o.precision);
  if (o.wbits) j["wbits"] = *o.wbits;
  if (o.rank) j["rank"] = *o.rank;
  return j;
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Recipe parse_recipe(const std::string& json_text, const std::string& source) {
  const json j =
      parse_json(json_text, [&](const std::string& w) { return RecipeError(source, "", w); });
  if (!j.is_object()) throw RecipeError(source, "", "must be a JSON object, got " + j.dump());
  if (j.value("format", json()) != "autocompress-recipe")
    throw RecipeError(source, "format",
                      "must be \"autocompress-recipe\", got " + j.value("format", json()).dump());
  const json version = j.value("version", json());
  if (!version.is_number_integer() || version.get<int64_t>() < kOldestRecipeVersion ||
      version.get<int64_t>() > kRecipeVersion)
    throw RecipeError(source, "version",
                      "unsupported version " + version.dump() + " (this build reads versions " +
                          std::to_string(kOldestRecipeVersion) + " to " +
                          std::to_string(kRecipeVersion) + ")");
  const bool v1 = version.get<int64_t>() == 1;
  for (const auto& [key, v] : j.items())
    if (key != "format" && key != "version" && key != "model_sha256" && key != "defaults" &&
        key != "layers" && key != "metrics" && (v1 || key != "calibration"))
      throw RecipeError(
          source, key,
          std::string("unknown field (known: format, version, model_sha256, "
                      "defaults, layers, ") +
              (v1 ? "metrics; calibration from version 2 on)" : "calibration, metrics)"));
  Recipe r;
  r.source = source;
  const json hash = j.value("model_sha256", json());
  if (!hash.is_string() || !is_hex64(hash.get<std::string>()))
    throw RecipeError(
        source, "model_sha256",
        "must be 64 lower-case hex digits (sha256 of the ONNX file), got " + hash.dump());
  r.model_sha256 = hash.get<std::string>();
  if (j.contains("defaults")) {
    r.defaults = merged({}, FieldReader(source, "defaults").read(j["defaults"]));
  }
  if (j.contains("layers")) {
    if (!j["layers"].is_object())
      throw RecipeError(source, "layers", "must be an object, got " + j["layers"].dump());
    for (const auto& [name, v] : j["layers"].items())
      r.layers[name] = FieldReader(source, "layers." + name).read(v);
  }
  if (j.contains("calibration")) r.calibration = parse_calibration_record(j["calibration"], source);
  r.metrics = j.value("metrics", json::object());
  return r;
}

Recipe load_recipe(const std::string& path) {
  return parse_recipe(read_file(path, "cannot open recipe"), path);
}

std::string recipe_to_json(const Recipe& r) {
  json j;
  j["format"] = "autocompress-recipe";
  j["version"] = kRecipeVersion;
  j["model_sha256"] = r.model_sha256;
  const LayerSettings& d = r.defaults;
  j["defaults"] = settings_json({d.prune, d.precision, d.wbits, d.rank});
  j["layers"] = json::object();
  for (const auto& [name, o] : r.layers) j["layers"][name] = settings_json(o);
  if (r.calibration) j["calibration"] = calibration_record_json(*r.calibration);
  if (!r.metrics.is_null() && !r.metrics.empty()) j["metrics"] = r.metrics;
  return j.dump(2) + "\n";
}

json calibration_record_json(const CalibrationRecord& c) {
  json j = {{"data", data_spec_to_json(c.data)},
            {"ls_reconstruction", c.ls_reconstruction},
            {"channel_multiple", c.channel_multiple},
            {"positions_per_image", c.positions_per_image},
            {"seed", c.seed},
            {"histogram_bins", c.histogram_bins},
            {"extra_images", c.extra_images}};
  if (c.fingerprint) j["fingerprint"] = fingerprint_to_json(*c.fingerprint);
  return j;
}

CalibrationRecord parse_calibration_record(const json& j, const std::string& source) {
  const auto fail = [&](const std::string& field, const std::string& what) {
    throw RecipeError(source, "calibration" + (field.empty() ? "" : "." + field), what);
  };
  if (!j.is_object()) fail("", "must be an object, got " + j.dump());
  if (!j.contains("data")) fail("data", "missing (the calibration data spec)");
  CalibrationRecord c;
  const auto integer = [&](const std::string& key, int64_t min, int64_t max) {
    const json& v = j[key];
    if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max)
      fail(key, "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                    "], got " + v.dump());
    return v.get<int64_t>();
  };
  for (const auto& [key, v] : j.items()) {
    if (key == "data") {
      c.data = data_spec_from_json(v, source, "calibration.data");
    } else if (key == "fingerprint") {
      c.fingerprint = fingerprint_from_json(v, source, "calibration.fingerprint");
    } else if (key == "ls_reconstruction") {
      if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
      c.ls_reconstruction = v.get<bool>();
    } else if (key == "channel_multiple") {
      c.channel_multiple = integer(key, 1, 1024);
    } else if (key == "positions_per_image") {
      c.positions_per_image = integer(key, 1, int64_t(1) << 20);
    } else if (key == "seed") {
      c.seed = uint32_t(integer(key, 0, UINT32_MAX));
    } else if (key == "histogram_bins") {
      c.histogram_bins = int(integer(key, 2, int64_t(1) << 24));
    } else if (key == "extra_images") {
      c.extra_images = integer(key, 1, int64_t(1) << 40);
    } else {
      fail(key,
           "unknown field (known: data, fingerprint, ls_reconstruction, channel_multiple, "
           "positions_per_image, seed, histogram_bins, extra_images)");
    }
  }
  return c;
}

namespace {

std::string some_layers(const Graph& g) {
  std::string s;
  const auto layers = weighted_layers(g);
  for (size_t k = 0; k < layers.size() && k < 5; ++k) s += (k ? ", " : "") + layers[k].name;
  if (layers.size() > 5) s += ", ... (" + std::to_string(layers.size()) + " layers)";
  return s;
}

std::string fmt(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_group(const Recipe& r, const PruneGroup& gr) {
  std::vector<std::string> members = gr.producers;
  members.insert(members.end(), gr.followers.begin(), gr.followers.end());
  if (!gr.prunable) {
    for (const auto& m : members) {
      auto it = r.layers.find(m);
      if (it != r.layers.end() && it->second.prune.value_or(0) > 0)
        throw RecipeError(r.source, "layers." + m + ".prune",
                          "layer cannot be pruned (" + gr.label() + ": " + gr.reason + "), got " +
                              fmt(*it->second.prune));
    }
    return;
  }
  const double first = r.settings(members.front()).prune;
  for (const auto& m : members) {
    if (r.settings(m).prune == first) continue;
    std::string values;
    for (const auto& x : members)
      values += (values.empty() ? "" : ", ") + x + "=" + fmt(r.settings(x).prune);
    throw RecipeError(r.source, "layers." + m + ".prune",
                      "layers of one pruning dependency group must share one prune value; " +
                          gr.label() + " has " + values);
  }
}

}  // namespace

void validate_recipe(const Recipe& r, const Graph& g, const RecipeCheck& check) {
  if (!check.model_sha256.empty() && check.model_sha256 != r.model_sha256)
    throw RecipeError(r.source, "model_sha256",
                      "recipe was made for model " + r.model_sha256 + ", but " +
                          (g.source.empty() ? std::string("the model") : g.source) + " has " +
                          check.model_sha256);
  for (const auto& [name, o] : r.layers) {
    const Node* n = g.find_node(name);
    if (!n || (n->op != "Conv" && n->op != "Gemm"))
      throw RecipeError(
          r.source, "layers." + name,
          "unknown layer (the model's Conv/Gemm layers include: " + some_layers(g) + ")");
  }
  if (check.legal_precisions) {
    auto legal = [&](Precision p) { return check.legal_precisions->count(p) != 0; };
    std::string modes;
    for (Precision p : *check.legal_precisions)
      modes += (modes.empty() ? "" : ", ") + std::string(precision_name(p));
    if (!legal(r.defaults.precision))
      throw RecipeError(r.source, "defaults.precision",
                        std::string("mode \"") + precision_name(r.defaults.precision) +
                            "\" is not supported by the target (legal: " + modes + ")");
    for (const auto& [name, o] : r.layers)
      if (o.precision && !legal(*o.precision))
        throw RecipeError(r.source, "layers." + name + ".precision",
                          std::string("mode \"") + precision_name(*o.precision) +
                              "\" is not supported by the target (legal: " + modes + ")");
  }
  for (const auto& gr : dependency_groups(g)) check_group(r, gr);
}

std::map<int, double> group_prune_ratios(const Recipe& r, const std::vector<PruneGroup>& groups) {
  std::map<int, double> ratios;
  for (const auto& gr : groups) {
    if (!gr.prunable || gr.producers.empty()) continue;
    const double p = r.settings(gr.producers.front()).prune;
    if (p > 0) ratios[gr.id] = p;
  }
  return ratios;
}

std::string recipe_layer_of(const std::string& node_name) {
  const std::string suffix = "/lowrank_a";
  if (node_name.size() > suffix.size() &&
      node_name.compare(node_name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return node_name.substr(0, node_name.size() - suffix.size());
  return node_name;
}

void set_mode_attrs(Node& n, Precision precision, int wbits) {
  if (precision != Precision::kFp32) n.attrs["precision"] = std::string(precision_name(precision));
  if (precision == Precision::kInt8 || wbits < 8) n.attrs["wbits"] = int64_t(wbits);
}

void set_mode_attrs(Graph& g, const Recipe& r) {
  for (Node& n : g.nodes)
    if (n.op == "Conv" || n.op == "Gemm") {
      const LayerSettings s = r.settings(recipe_layer_of(n.name));
      set_mode_attrs(n, s.precision, s.wbits);
    }
}

}  // namespace autocompress
