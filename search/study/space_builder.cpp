#include "search/study/space_builder.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.hpp"
#include "compressors/lowrank.hpp"
#include "compressors/prune.hpp"

namespace autocompress {

namespace {

using nlohmann::json;

const char* type_name(Knob::Type t) {
  switch (t) {
    case Knob::Type::kPrune:
      return "prune";
    case Knob::Type::kPrecision:
      return "precision";
    case Knob::Type::kWbits:
      return "wbits";
    case Knob::Type::kRank:
      return "rank";
    case Knob::Type::kGeneric:
      return "generic";
  }
  return "?";
}

bool same_value(const KnobValue& a, const KnobValue& b) {
  if (a.index() != b.index()) return false;
  if (const double* x = std::get_if<double>(&a)) return std::abs(*x - std::get<double>(b)) < 1e-9;
  return std::get<std::string>(a) == std::get<std::string>(b);
}

std::string value_str(const KnobValue& v) {
  if (const double* x = std::get_if<double>(&v)) return json(*x).dump();
  return "\"" + std::get<std::string>(v) + "\"";
}

int level_of(const Knob& k, const KnobValue& v) {
  for (size_t i = 0; i < k.levels.size(); ++i)
    if (same_value(k.levels[i], v)) return int(i);
  return -1;
}

KnobValue value_from_json(const json& j, const std::string& where) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return j.get<std::string>();
  throw UsageError("search space: " + where + ": expected a number or a string, got " + j.dump());
}

json value_json(const KnobValue& v) {
  if (const double* x = std::get_if<double>(&v)) return *x;
  return std::get<std::string>(v);
}

// The layer's weight matrix [m, k] as low-rank factorization sees it.
std::pair<int64_t, int64_t> weight_matrix(const Graph& g, const std::string& layer) {
  const Shape& w = g.value(g.find_node(layer)->inputs[1]).shape;
  int64_t k = 1;
  for (size_t i = 1; i < w.size(); ++i) k *= w[i];
  return {w[0], k};
}

// Levels of a prune knob on a group: one per distinct kept channel count (first ratio wins).
std::vector<KnobValue> prune_levels(const std::vector<double>& ratios, int64_t channels,
                                    int64_t multiple) {
  std::vector<KnobValue> out;
  std::set<int64_t> kept;
  for (double r : ratios)
    if (kept.insert(kept_channel_count(channels, r, multiple)).second) out.push_back(r);
  return out;
}

// Levels of a rank knob: distinct ranks that factorization actually applies (fewer MACs).
std::vector<KnobValue> rank_levels(const std::vector<double>& fractions, int64_t m, int64_t k) {
  std::vector<KnobValue> out;
  std::set<int64_t> ranks;
  for (double f : fractions) {
    const int64_t r = f >= 1.0 ? std::min(m, k) + 1 : lowrank_rank(m, k, f);
    if (f < 1.0 && r * (m + k) >= m * k) continue;
    if (ranks.insert(r).second) out.push_back(f);
  }
  return out;
}

void check_level(Knob::Type t, const KnobValue& v, const Profile& target, const std::string& w) {
  const double* x = std::get_if<double>(&v);
  const std::string* s = std::get_if<std::string>(&v);
  bool ok = false;
  switch (t) {
    case Knob::Type::kPrune:
      ok = x && *x >= 0 && *x <= kMaxPrune;
      break;
    case Knob::Type::kWbits:
      ok = x && *x >= 2 && *x <= 8 && *x == std::round(*x);
      break;
    case Knob::Type::kRank:
      ok = x && *x > 0 && *x <= 1;
      break;
    case Knob::Type::kPrecision:
      ok = s && parse_precision(*s) && target.supports(*parse_precision(*s));
      break;
    default:
      break;
  }
  if (!ok)
    throw UsageError("search space: " + w + ": level " + value_str(v) + " is not a legal " +
                     type_name(t) + " value" +
                     (t == Knob::Type::kPrecision ? " for target " + target.name : ""));
}

bool matches(const std::string& pattern, const KnobTarget& t) {
  return std::any_of(t.layers.begin(), t.layers.end(), [&](const std::string& l) {
    return fnmatch(pattern.c_str(), l.c_str(), 0) == 0;
  });
}

// The level value keep_float pins a knob to.
KnobValue float_value(Knob::Type t) {
  if (t == Knob::Type::kPrecision) return std::string("fp32");
  if (t == Knob::Type::kWbits) return 8.0;
  if (t == Knob::Type::kRank) return 1.0;
  return 0.0;
}

void apply_rule(CompressionSpace& s, const SpaceRule& rule, const Profile& target, size_t index) {
  const std::string where = "rules[" + std::to_string(index) + "] (layer '" + rule.layer + "')";
  size_t hits = 0;
  for (size_t j = 0; j < s.space.knobs.size(); ++j) {
    Knob& k = s.space.knobs[j];
    if (!matches(rule.layer, s.targets[j])) continue;
    if (!rule.knob.empty() && rule.knob != type_name(k.type)) continue;
    ++hits;
    if (!rule.levels.empty()) {
      for (const auto& v : rule.levels) check_level(k.type, v, target, where);
      k.levels = rule.levels;
      k.fixed = -1;
    }
    std::optional<KnobValue> pin = rule.freeze;
    if (rule.keep_float) pin = float_value(k.type);
    if (pin) {
      const int at = level_of(k, *pin);
      if (at < 0)
        throw UsageError("search space: " + where + ": value " + value_str(*pin) +
                         " is not a level of knob '" + k.name + "'");
      k.fixed = at;
    }
  }
  if (hits == 0)
    throw UsageError("search space: " + where + (rule.knob.empty() ? "" : ", knob " + rule.knob) +
                     ": matches no knob of the model");
}

void add_knob(CompressionSpace& s, std::string name, Knob::Type t, std::vector<KnobValue> levels,
              KnobTarget target) {
  if (levels.size() < 2) return;  // nothing to choose
  s.space.knobs.push_back({std::move(name), t, std::move(levels), -1});
  s.targets.push_back(std::move(target));
}

}  // namespace

SpaceOptions parse_space_options(const json& j) {
  SpaceOptions o;
  if (!j.is_object()) throw UsageError("search space: expected a JSON object, got " + j.dump());
  for (const auto& [key, v] : j.items()) {
    if (key == "prune_levels")
      o.prune_levels = v.get<std::vector<double>>();
    else if (key == "wbits_levels")
      o.wbits_levels = v.get<std::vector<int>>();
    else if (key == "rank_levels")
      o.rank_levels = v.get<std::vector<double>>();
    else if (key == "knobs") {
      const auto k = v.get<std::set<std::string>>();
      for (const auto& n : k)
        if (n != "prune" && n != "precision" && n != "wbits" && n != "rank")
          throw UsageError("search space: knobs: unknown knob type '" + n +
                           "' (known: prune, precision, wbits, rank)");
      o.prune = k.count("prune"), o.precision = k.count("precision");
      o.wbits = k.count("wbits"), o.rank = k.count("rank");
    } else if (key == "rules") {
      for (const auto& r : v) {
        SpaceRule rule;
        for (const auto& [rk, rv] : r.items()) {
          if (rk == "layer")
            rule.layer = rv.get<std::string>();
          else if (rk == "knob")
            rule.knob = rv.get<std::string>();
          else if (rk == "keep_float")
            rule.keep_float = rv.get<bool>();
          else if (rk == "freeze")
            rule.freeze = value_from_json(rv, "rules.freeze");
          else if (rk == "levels")
            for (const auto& l : rv) rule.levels.push_back(value_from_json(l, "rules.levels"));
          else
            throw UsageError("search space: rules: unknown field '" + rk +
                             "' (known: layer, knob, keep_float, freeze, levels)");
        }
        if (rule.layer.empty()) throw UsageError("search space: rules: a rule needs 'layer'");
        o.rules.push_back(std::move(rule));
      }
    } else {
      throw UsageError("search space: unknown field '" + key +
                       "' (known: prune_levels, wbits_levels, rank_levels, knobs, rules)");
    }
  }
  return o;
}

json space_options_json(const SpaceOptions& o) {
  json knobs = json::array();
  if (o.prune) knobs.push_back("prune");
  if (o.precision) knobs.push_back("precision");
  if (o.wbits) knobs.push_back("wbits");
  if (o.rank) knobs.push_back("rank");
  json rules = json::array();
  for (const auto& r : o.rules) {
    json jr{{"layer", r.layer}};
    if (!r.knob.empty()) jr["knob"] = r.knob;
    if (r.keep_float) jr["keep_float"] = true;
    if (r.freeze) jr["freeze"] = value_json(*r.freeze);
    if (!r.levels.empty()) {
      jr["levels"] = json::array();
      for (const auto& l : r.levels) jr["levels"].push_back(value_json(l));
    }
    rules.push_back(jr);
  }
  return {{"prune_levels", o.prune_levels},
          {"wbits_levels", o.wbits_levels},
          {"rank_levels", o.rank_levels},
          {"knobs", knobs},
          {"rules", rules}};
}

CompressionSpace build_compression_space(const Graph& g, const std::string& model_sha256,
                                         const Profile& target, const SpaceOptions& o) {
  CompressionSpace s;
  s.model_sha256 = model_sha256;
  s.options = o;
  for (const auto& l : weighted_layers(g)) s.layers.push_back(l.name);
  s.groups = dependency_groups(g);
  const int64_t multiple = std::max<int64_t>(1, target.channel_multiple);
  if (o.prune)
    for (const auto& gr : s.groups) {
      if (!gr.prunable || gr.producers.empty()) continue;
      for (double r : o.prune_levels) check_level(Knob::Type::kPrune, r, target, "prune_levels");
      KnobTarget t{gr.producers, gr.id};
      t.layers.insert(t.layers.end(), gr.followers.begin(), gr.followers.end());
      add_knob(s, gr.producers[0] + "/prune", Knob::Type::kPrune,
               prune_levels(o.prune_levels, gr.channels, multiple), t);
    }
  std::vector<KnobValue> modes;
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8})
    if (target.supports(p)) modes.push_back(std::string(precision_name(p)));
  std::vector<KnobValue> wbits;
  for (int b : o.wbits_levels) {
    check_level(Knob::Type::kWbits, double(b), target, "wbits_levels");
    wbits.push_back(double(b));
  }
  for (const auto& layer : s.layers) {
    if (o.precision) add_knob(s, layer + "/precision", Knob::Type::kPrecision, modes, {{layer}});
    if (o.wbits) add_knob(s, layer + "/wbits", Knob::Type::kWbits, wbits, {{layer}});
    const Node& n = *g.find_node(layer);
    if (o.rank && !(n.op == "Conv" && n.i("group", 1) != 1)) {
      for (double f : o.rank_levels) check_level(Knob::Type::kRank, f, target, "rank_levels");
      const auto [m, k] = weight_matrix(g, layer);
      add_knob(s, layer + "/rank", Knob::Type::kRank, rank_levels(o.rank_levels, m, k), {{layer}});
    }
  }
  for (size_t i = 0; i < o.rules.size(); ++i) apply_rule(s, o.rules[i], target, i);
  return s;
}

Recipe candidate_to_recipe(const CompressionSpace& s, const Candidate& c) {
  check_candidate(s.space, c);
  Recipe r;
  r.model_sha256 = s.model_sha256;
  for (const auto& l : s.layers) r.layers[l];
  for (size_t j = 0; j < c.size(); ++j) {
    const Knob& k = s.space.knobs[j];
    const KnobValue& v = k.levels[size_t(c[j])];
    for (const auto& layer : s.targets[j].layers) {
      LayerOverride& e = r.layers[layer];
      switch (k.type) {
        case Knob::Type::kPrune:
          e.prune = std::get<double>(v);
          break;
        case Knob::Type::kPrecision:
          e.precision = *parse_precision(std::get<std::string>(v));
          break;
        case Knob::Type::kWbits:
          e.wbits = int(std::lround(std::get<double>(v)));
          break;
        case Knob::Type::kRank:
          e.rank = std::get<double>(v);
          break;
        default:
          break;
      }
    }
  }
  return r;
}

Candidate candidate_from_recipe(const CompressionSpace& s, const Recipe& r) {
  Candidate c(s.space.size());
  for (size_t j = 0; j < c.size(); ++j) {
    const Knob& k = s.space.knobs[j];
    const std::string& layer = s.targets[j].layers.at(0);
    const LayerSettings e = r.settings(layer);
    KnobValue v;
    switch (k.type) {
      case Knob::Type::kPrune:
        v = e.prune;
        break;
      case Knob::Type::kPrecision:
        v = std::string(precision_name(e.precision));
        break;
      case Knob::Type::kWbits:
        v = double(e.wbits);
        break;
      case Knob::Type::kRank:
        v = e.rank;
        break;
      default:
        break;
    }
    c[j] = level_of(k, v);
    if (c[j] < 0 || (k.fixed >= 0 && c[j] != k.fixed))
      throw RecipeError(r.source, "layers." + layer + "." + type_name(k.type),
                        "not a level of knob '" + k.name + "'" + (k.fixed >= 0 ? " (frozen)" : "") +
                            ", got " + value_str(v));
  }
  return c;
}

std::vector<Param> candidate_params(const CompressionSpace& s, const Candidate& c) {
  check_candidate(s.space, c);
  std::vector<Param> p;
  for (size_t j = 0; j < c.size(); ++j)
    p.push_back({s.space.knobs[j].name, s.space.knobs[j].levels[size_t(c[j])]});
  std::sort(p.begin(), p.end(), [](const Param& a, const Param& b) { return a.name < b.name; });
  return p;
}

Candidate candidate_from_params(const CompressionSpace& s, const std::vector<Param>& params) {
  Candidate c(s.space.size());
  for (size_t j = 0; j < c.size(); ++j) {
    const Knob& k = s.space.knobs[j];
    const auto it = std::find_if(params.begin(), params.end(),
                                 [&](const Param& p) { return p.name == k.name; });
    if (it == params.end()) throw UsageError("trial params: knob '" + k.name + "' is missing");
    c[j] = level_of(k, it->value);
    if (c[j] < 0)
      throw UsageError("trial params: knob '" + k.name + "': " + value_str(it->value) +
                       " is not one of its levels");
  }
  return c;
}

std::optional<Candidate> uniform_candidate(const CompressionSpace& s, Knob::Type type,
                                           const KnobValue& value) {
  Candidate c(s.space.size(), 0);
  bool any = false;
  for (size_t j = 0; j < c.size(); ++j) {
    const Knob& k = s.space.knobs[j];
    if (k.fixed >= 0) c[j] = k.fixed;
    if (k.type != type || k.fixed >= 0) continue;
    int best = level_of(k, value);
    if (best < 0 && std::holds_alternative<double>(value)) {  // nearest, less compressed on ties
      double dist = 1e300;
      for (size_t i = 0; i < k.levels.size(); ++i) {
        const double d = std::abs(std::get<double>(k.levels[i]) - std::get<double>(value));
        if (d < dist - 1e-12) dist = d, best = int(i);
      }
    }
    if (best >= 0) c[j] = best, any = true;
  }
  if (!any) return std::nullopt;
  return c;
}

std::string space_json(const CompressionSpace& s) {
  json knobs = json::array();
  for (const auto& k : s.space.knobs) {
    json levels = json::array();
    for (const auto& l : k.levels) levels.push_back(value_json(l));
    knobs.push_back(
        {{"name", k.name}, {"type", type_name(k.type)}, {"levels", levels}, {"fixed", k.fixed}});
  }
  return json{{"options", space_options_json(s.options)}, {"knobs", knobs}}.dump();
}

}  // namespace autocompress
