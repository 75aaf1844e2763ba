#include "search/report/front.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "common/error.hpp"
#include "search/moo/hypervolume.hpp"
#include "search/moo/nondominated.hpp"

namespace autocompress {

using nlohmann::json;

bool has_all_values(const Study& s, const FrozenTrial& t) {
  return t.state == TrialState::kComplete && t.values.size() == s.objectives.size() &&
         std::none_of(t.values.begin(), t.values.end(), [](double v) { return std::isnan(v); });
}

TrialFront study_front(const Study& s, std::span<const FrozenTrial> trials) {
  const size_t m = s.objectives.size();
  std::vector<size_t> complete;
  std::vector<double> violation;
  for (size_t i = 0; i < trials.size(); ++i)
    if (has_all_values(s, trials[i])) {
      complete.push_back(i);
      violation.push_back(total_violation(trials[i].constraints));
    }
  TrialFront out;
  if (complete.empty()) return out;
  // Under constraint-domination the first front lies among the trials of least violation (0 when
  // any is feasible); among those, plain Pareto dominance decides.
  const double least = *std::min_element(violation.begin(), violation.end());
  out.feasible = least == 0;
  std::vector<size_t> pool;
  std::vector<double> points;
  for (size_t k = 0; k < complete.size(); ++k)
    if (violation[k] == least) {
      pool.push_back(complete[k]);
      points.insert(points.end(), trials[complete[k]].values.begin(),
                    trials[complete[k]].values.end());
    }
  const auto sense = study_senses(s);
  for (size_t k : pareto_front(points, m, sense)) out.members.push_back(pool[k]);
  return out;
}

std::vector<double> reference_or_nadir(const Study& s, std::span<const double> points) {
  const size_t m = s.objectives.size();
  if (s.reference_point.size() == m) return s.reference_point;
  const auto sense = study_senses(s);
  std::vector<double> ref(m, 0.0);
  for (size_t j = 0; j < m; ++j) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t k = j; k < points.size(); k += m)
      if (!std::isnan(points[k])) lo = std::min(lo, points[k]), hi = std::max(hi, points[k]);
    if (lo > hi) lo = hi = 0;
    const double pad = hi > lo ? 0.1 * (hi - lo) : 1.0;
    ref[j] = sense[j] == Sense::kMaximize ? lo - pad : hi + pad;
  }
  return ref;
}

FrozenTrial with_known_values(const Study& s, FrozenTrial t,
                              const std::map<std::string, double>& known) {
  static const std::map<std::string, std::string> kConstraintOf = {
      {"latency_ms", "latency"}, {"energy_mj", "energy"}, {"size_mb", "size"}};
  for (const auto& [name, v] : known) {
    double old = NAN;
    if (auto m = t.metrics.find(name); m != t.metrics.end()) old = m->second, m->second = v;
    for (size_t j = 0; j < s.objectives.size() && j < t.values.size(); ++j)
      if (s.objectives[j].name == name) {
        if (std::isnan(old)) old = t.values[j];
        t.values[j] = v;
      }
    const auto c = kConstraintOf.find(name);
    for (size_t j = 0; c != kConstraintOf.end() && j < s.constraints.size(); ++j)
      if (s.constraints[j] == c->second && j < t.constraints.size())
        t.constraints[j] += v - old;  // NaN when the old value is unknown: not feasible
  }
  return t;
}

namespace {

json number_json(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

// "<layer>/<knob>" -> layers[layer][knob]; a name without '/' -> defaults[name].
json recipe_from_params(const Study& s, const FrozenTrial& t) {
  json defaults = json::object(), layers = json::object();
  for (const auto& p : t.params) {
    json v;
    if (const double* d = std::get_if<double>(&p.value)) {
      v = std::nearbyint(*d) == *d && std::fabs(*d) < 9e15 ? json(int64_t(*d)) : json(*d);
    } else {
      v = std::get<std::string>(p.value);
    }
    const size_t slash = p.name.rfind('/');
    if (slash == std::string::npos)
      defaults[p.name] = v;
    else
      layers[p.name.substr(0, slash)][p.name.substr(slash + 1)] = v;
  }
  return {{"format", "autocompress-recipe"},
          {"version", kRecipeVersion},
          {"model_sha256", s.model_sha256},
          {"defaults", defaults},
          {"layers", layers}};
}

}  // namespace

json trial_recipe(const Study& s, const FrozenTrial& t) {
  json r;
  if (auto it = t.user_attrs.find("recipe"); it != t.user_attrs.end()) {
    r = json::parse(it->second, nullptr, false);
    if (r.is_discarded() || !r.is_object())
      throw RecipeError("trial " + std::to_string(t.number), "user_attrs.recipe",
                        "is not a JSON object");
  } else {
    r = recipe_from_params(s, t);
  }
  json metrics = json::object();
  for (size_t j = 0; j < t.values.size() && j < s.objectives.size(); ++j)
    metrics[s.objectives[j].name] = number_json(t.values[j]);
  for (const auto& [k, v] : t.metrics)
    if (!metrics.contains(k)) metrics[k] = number_json(v);
  r["metrics"] = metrics;
  return r;
}

namespace {

std::string policy_name(const std::string& type, const ParamValue& v) {
  const auto pct = [](double x) { return std::to_string(int(std::lround(100 * x))); };
  const double* d = std::get_if<double>(&v);
  if (type == "precision" && !d) return std::get<std::string>(v) + " everywhere";
  if (!d) return "";
  if (type == "wbits") return std::to_string(int(std::lround(*d))) + "-bit weights";
  if (type == "prune") return pct(*d) + "% uniform pruning";
  if (type == "rank") return "rank " + pct(*d) + "% everywhere";
  return "";
}

ParamValue level_value(const json& l) {
  return l.is_string() ? ParamValue(l.get<std::string>()) : ParamValue(l.get<double>());
}

}  // namespace

std::string uniform_policy(const Study& s, const FrozenTrial& t) {
  if (auto it = t.user_attrs.find("baseline"); it != t.user_attrs.end()) return it->second;
  const json j = json::parse(s.search_space, nullptr, false);
  if (!j.is_object() || !j.contains("knobs") || !j["knobs"].is_array()) return "";
  std::string type;  // the one knob type moved off its first level
  std::optional<ParamValue> value;
  try {
    for (const auto& k : j["knobs"]) {
      if (k.value("fixed", -1) >= 0) continue;
      const auto p = std::find_if(t.params.begin(), t.params.end(),
                                  [&](const Param& q) { return q.name == k.at("name"); });
      if (p == t.params.end()) return "";
      if (p->value == level_value(k.at("levels").at(0))) continue;
      const std::string kt = k.at("type").get<std::string>();
      if ((!type.empty() && kt != type) || (value && *value != p->value)) return "";
      type = kt, value = p->value;
    }
    // Every free knob of that type must have moved.
    for (const auto& k : j["knobs"])
      if (k.value("fixed", -1) < 0 && k.at("type") == type &&
          std::none_of(t.params.begin(), t.params.end(),
                       [&](const Param& q) { return q.name == k.at("name") && q.value == *value; }))
        return "";
  } catch (const json::exception&) {
    return "";
  }
  return value ? policy_name(type, *value) : "";
}

std::vector<std::string> layer_order(const Study& s) {
  const json j = json::parse(s.search_space, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains("knobs") || !j["knobs"].is_array()) return out;
  std::set<std::string> seen;
  for (const auto& k : j["knobs"]) {
    if (!k.is_object() || !k.contains("name") || !k["name"].is_string()) continue;
    const std::string name = k["name"].get<std::string>();
    const size_t slash = name.rfind('/');
    if (slash == std::string::npos) continue;
    const std::string layer = name.substr(0, slash);
    if (seen.insert(layer).second) out.push_back(layer);
  }
  return out;
}

std::vector<LayerRow> recipe_layers(const Recipe& r, const std::vector<std::string>& order) {
  std::vector<LayerRow> out;
  std::set<std::string> done;
  for (const auto& l : order)
    if (done.insert(l).second) out.push_back({l, r.settings(l)});
  for (const auto& [l, o] : r.layers)
    if (!done.count(l)) out.push_back({l, r.settings(l)});
  // Without the model's layer list, the defaults stand for every layer the recipe does not name.
  if (order.empty() && !(r.defaults == LayerSettings{})) out.push_back({"*", r.defaults});
  return out;
}

std::string layer_code(const LayerSettings& s) {
  std::string c = s.precision == Precision::kInt8   ? "i"
                  : s.precision == Precision::kBf16 ? "b"
                                                    : "f";
  if (s.precision == Precision::kInt8 || s.wbits < 8) c += std::to_string(s.wbits);
  const auto pct = [](double x) { return std::to_string(int(std::lround(100 * x))); };
  if (s.prune > 0) c += "-p" + pct(s.prune);
  if (s.rank < 1) c += "-r" + pct(s.rank);
  return c;
}

std::string recipe_summary(std::span<const LayerRow> layers) {
  if (layers.empty()) return "original";
  const bool uniform = std::all_of(layers.begin(), layers.end(), [&](const LayerRow& l) {
    return l.settings == layers.front().settings;
  });
  if (uniform && layers.size() > 1) return "all " + layer_code(layers.front().settings);
  std::string out;
  for (const auto& l : layers) {
    if (!out.empty()) out += ' ';
    out += (l.layer == "*" ? "others " : "") + layer_code(l.settings);
  }
  return out;
}

}  // namespace autocompress
