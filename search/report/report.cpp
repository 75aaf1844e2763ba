#include "search/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/error.hpp"
#include "common/format.hpp"
#include "search/moo/hypervolume.hpp"
#include "search/report/front.hpp"

namespace autocompress {

namespace {

constexpr double kW = 460, kH = 340, kLeft = 70, kRight = 16, kTop = 24, kBottom = 50;
constexpr const char* kFrontColor = "#1f77b4";
constexpr const char* kKneeColor = "#d62728";
constexpr const char* kBaselineColor = "#ff7f0e";
constexpr const char* kHvColor = "#2ca02c";

std::string g4(double v) { return std::isnan(v) ? "-" : fmt("%.4g", v); }
std::string px(double v) { return fmt("%.1f", v); }

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// Maps data [lo, hi] to pixels [p0, p1], with 5% padding (a unit range around a single value).
struct Scale {
  double lo, hi, p0, p1;
  Scale(double a, double b, double q0, double q1) : p0(q0), p1(q1) {
    if (!(b > a))
      a -= std::max(0.5, std::fabs(a) * 0.05), b = a + 2 * std::max(0.5, std::fabs(a) * 0.05);
    const double pad = 0.05 * (b - a);
    lo = a - pad, hi = b + pad;
  }
  double operator()(double v) const { return p0 + (v - lo) / (hi - lo) * (p1 - p0); }
};

Scale scale_of(const std::vector<double>& v, double p0, double p1) {
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (lo > hi) lo = 0, hi = 1;
  return Scale(lo, hi, p0, p1);
}

std::string label_of(const Objective& o) {
  return o.name +
         (o.direction == Direction::kMaximize ? " (higher is better)" : " (lower is better)");
}

// Frame, ticks with grid lines, and the two axis labels of a plot.
std::string axes(const Scale& x, const Scale& y, const std::string& xl, const std::string& yl) {
  std::string s = "<rect x=\"" + px(kLeft) + "\" y=\"" + px(kTop) + "\" width=\"" +
                  px(kW - kLeft - kRight) + "\" height=\"" + px(kH - kTop - kBottom) +
                  "\" fill=\"#fff\" stroke=\"#333\"/>\n";
  for (double t : nice_ticks(x.lo, x.hi)) {
    const double u = x(t);
    s += "<line x1=\"" + px(u) + "\" x2=\"" + px(u) + "\" y1=\"" + px(kTop) + "\" y2=\"" +
         px(kH - kBottom + 4) + "\" stroke=\"#ddd\"/><text x=\"" + px(u) + "\" y=\"" +
         px(kH - kBottom + 16) + "\" text-anchor=\"middle\" class=\"tick\">" + g4(t) + "</text>\n";
  }
  for (double t : nice_ticks(y.lo, y.hi)) {
    const double v = y(t);
    s += "<line x1=\"" + px(kLeft - 4) + "\" x2=\"" + px(kW - kRight) + "\" y1=\"" + px(v) +
         "\" y2=\"" + px(v) + "\" stroke=\"#ddd\"/><text x=\"" + px(kLeft - 6) + "\" y=\"" +
         px(v + 4) + "\" text-anchor=\"end\" class=\"tick\">" + g4(t) + "</text>\n";
  }
  s += "<text class=\"axis-label\" x=\"" + px((kLeft + kW - kRight) / 2) + "\" y=\"" + px(kH - 10) +
       "\" text-anchor=\"middle\">" + esc(xl) + "</text>\n";
  s += "<text class=\"axis-label\" transform=\"translate(16," + px((kTop + kH - kBottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + esc(yl) + "</text>\n";
  return s;
}

std::string svg_open(double w, double h, const std::string& aria) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(w) + "\" height=\"" + px(h) +
         "\" viewBox=\"0 0 " + px(w) + " " + px(h) + "\" role=\"img\" aria-label=\"" + esc(aria) +
         "\">\n";
}

// What the plots need, computed once.
struct Data {
  const Study& s;
  const std::vector<FrozenTrial>& trials;
  std::vector<size_t> complete;  // trials with all values
  TrialFront front;
  size_t knee = SIZE_MAX;  // trial index
  std::vector<std::string> order;
};

Data gather(const Study& s, const std::vector<FrozenTrial>& trials) {
  Data d{s, trials, {}, study_front(s, trials), SIZE_MAX, layer_order(s)};
  for (size_t i = 0; i < trials.size(); ++i)
    if (has_all_values(s, trials[i])) d.complete.push_back(i);
  std::vector<double> pts;
  for (size_t i : d.front.members)
    pts.insert(pts.end(), trials[i].values.begin(), trials[i].values.end());
  if (!pts.empty()) d.knee = d.front.members[knee_point(pts, s.objectives.size(), study_senses(s))];
  return d;
}

std::string marker(const char* cls, const FrozenTrial& t, double x, double y, double r,
                   const std::string& style, const std::string& tip) {
  return "<circle class=\"" + std::string(cls) + "\" data-trial=\"" + std::to_string(t.number) +
         "\" cx=\"" + px(x) + "\" cy=\"" + px(y) + "\" r=\"" + px(r) + "\" " + style + "><title>" +
         esc(tip) + "</title></circle>\n";
}

std::string scatter_svg(const Data& d, size_t i, size_t j) {
  std::vector<double> xs, ys;
  for (size_t k : d.complete)
    xs.push_back(d.trials[k].values[i]), ys.push_back(d.trials[k].values[j]);
  const Scale x = scale_of(xs, kLeft, kW - kRight), y = scale_of(ys, kH - kBottom, kTop);
  const auto& oi = d.s.objectives[i];
  const auto& oj = d.s.objectives[j];
  std::string s =
      svg_open(kW, kH, oj.name + " against " + oi.name) + axes(x, y, label_of(oi), label_of(oj));
  std::string front, special;
  for (size_t k : d.complete) {
    const FrozenTrial& t = d.trials[k];
    const double u = x(t.values[i]), v = y(t.values[j]);
    const std::string tip = "trial " + std::to_string(t.number) + ": " + oi.name + " " +
                            g4(t.values[i]) + ", " + oj.name + " " + g4(t.values[j]);
    const bool on_front = std::binary_search(d.front.members.begin(), d.front.members.end(), k);
    if (is_feasible(t.constraints))
      s += marker("trial", t, u, v, 2.5, "fill=\"#999\" fill-opacity=\"0.6\"", tip);
    else
      s += marker("trial infeasible", t, u, v, 2.5, "fill=\"none\" stroke=\"#aaa\"", tip);
    if (on_front)
      front += marker("front", t, u, v, 4.5, std::string("fill=\"") + kFrontColor + "\"", tip);
    if (k == d.knee)
      special +=
          marker("knee", t, u, v, 7,
                 std::string("fill=\"none\" stroke=\"") + kKneeColor + "\" stroke-width=\"2.5\"",
                 "knee: " + tip);
    if (const std::string b = uniform_policy(d.s, t); !b.empty())
      special += "<path class=\"baseline\" data-trial=\"" + std::to_string(t.number) + "\" d=\"M" +
                 px(u) + " " + px(v - 6) + " l6 6 l-6 6 l-6 -6 z\" fill=\"" + kBaselineColor +
                 "\" stroke=\"#333\"><title>baseline " + esc(b) + ": " + esc(tip) +
                 "</title></path>\n<text class=\"baseline-label\" x=\"" + px(u + 8) + "\" y=\"" +
                 px(v - 6) + "\">" + esc(b) + "</text>\n";
  }
  return s + front + special + "</svg>\n";
}

std::string hv_svg(const Data& d) {
  const size_t m = d.s.objectives.size();
  std::vector<double> pts, feasible_pts, numbers;
  std::vector<uint8_t> feasible;
  for (size_t k : d.complete) {
    const auto& t = d.trials[k];
    pts.insert(pts.end(), t.values.begin(), t.values.end());
    feasible.push_back(is_feasible(t.constraints));
    if (feasible.back()) feasible_pts.insert(feasible_pts.end(), t.values.begin(), t.values.end());
    numbers.push_back(double(t.number));
  }
  const auto ref = reference_or_nadir(d.s, feasible_pts);
  const auto hv = hypervolume_history(pts, m, study_senses(d.s), feasible, ref);
  std::vector<double> ys = hv;
  ys.push_back(0);
  const Scale x = scale_of(numbers, kLeft, kW - kRight), y = scale_of(ys, kH - kBottom, kTop);
  std::string s = svg_open(kW, kH, "hypervolume over trials") +
                  axes(x, y, "trial number", "hypervolume of the feasible front");
  std::string path;
  for (size_t k = 0; k < hv.size(); ++k) {
    path += (k ? " L" : "M") + px(x(numbers[k])) + " " + px(y(k ? hv[k - 1] : hv[0]));
    path += " L" + px(x(numbers[k])) + " " + px(y(hv[k]));
  }
  if (!path.empty())
    s += "<path class=\"hv-line\" d=\"" + path + "\" fill=\"none\" stroke=\"" + kHvColor +
         "\" stroke-width=\"2.5\"/>\n";
  std::string ref_text;
  for (double r : ref) ref_text += (ref_text.empty() ? "" : ", ") + g4(r);
  s += "<text class=\"note\" x=\"" + px(kLeft + 6) + "\" y=\"" + px(kTop + 14) + "\">reference (" +
       esc(ref_text) + "); final " + g4(hv.empty() ? 0 : hv.back()) + "</text>\n";
  return s + "</svg>\n";
}

// ------------------------------------------------------------------ heatmap

struct KnobPanel {
  const char* name;
  double (*level)(const LayerSettings&);  // 0 = untouched, 1 = most compressed
  std::string (*text)(const LayerSettings&);
};

const KnobPanel kPanels[] = {
    {"prune", [](const LayerSettings& s) { return s.prune / kMaxPrune; },
     [](const LayerSettings& s) { return fmt("%.0f%% pruned", 100 * s.prune); }},
    {"precision",
     [](const LayerSettings& s) {
       return s.precision == Precision::kInt8 ? 1.0 : s.precision == Precision::kBf16 ? 0.5 : 0.0;
     },
     [](const LayerSettings& s) { return std::string(precision_name(s.precision)); }},
    {"weight bits", [](const LayerSettings& s) { return (8.0 - s.wbits) / 6.0; },
     [](const LayerSettings& s) { return std::to_string(s.wbits) + "-bit weights"; }},
    {"rank", [](const LayerSettings& s) { return 1.0 - s.rank; },
     [](const LayerSettings& s) { return fmt("rank %.3g", s.rank); }},
};

// White to dark blue.
std::string shade(double level) {
  const double t = std::clamp(level, 0.0, 1.0);
  const auto c = [&](double a, double b) { return int(std::lround(a + (b - a) * t)); };
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c(247, 8), c(251, 48), c(255, 107));
  return buf;
}

struct FrontRow {
  const FrozenTrial* t;
  std::vector<LayerRow> layers;
  std::string summary;
};

std::vector<FrontRow> front_rows(const Data& d) {
  std::vector<FrontRow> rows;
  for (size_t k : d.front.members) {
    FrontRow r{&d.trials[k], {}, {}};
    try {
      r.layers = recipe_layers(parse_recipe(trial_recipe(d.s, *r.t).dump()), d.order);
      r.summary = recipe_summary(r.layers);
    } catch (const Error& e) {
      r.summary = std::string("(recipe unreadable: ") + e.what() + ")";
    }
    rows.push_back(std::move(r));
  }
  const bool max0 = !d.s.objectives.empty() && d.s.objectives[0].direction == Direction::kMaximize;
  std::stable_sort(rows.begin(), rows.end(), [&](const FrontRow& a, const FrontRow& b) {
    return max0 ? a.t->values[0] > b.t->values[0] : a.t->values[0] < b.t->values[0];
  });
  return rows;
}

std::string heatmap_svg(const KnobPanel& p, const std::vector<FrontRow>& rows,
                        const std::vector<std::string>& layers) {
  const double cw = std::clamp(640.0 / double(layers.size()), 4.0, 24.0);
  const double ch = std::clamp(320.0 / double(rows.size()), 3.0, 18.0);
  const double left = 64, top = 22, w = left + cw * double(layers.size()) + 10;
  const double h = top + ch * double(rows.size()) + 24;
  std::string s = svg_open(w, h, std::string("heatmap of ") + p.name) + "<text x=\"" + px(left) +
                  "\" y=\"14\" class=\"axis-label\">" + p.name +
                  " (darker = more compressed)</text>\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    const double y = top + ch * double(r);
    if (ch >= 9)
      s += "<text x=\"" + px(left - 4) + "\" y=\"" + px(y + ch - 2) +
           "\" text-anchor=\"end\" class=\"tick\">#" + std::to_string(rows[r].t->number) +
           "</text>\n";
    std::map<std::string, const LayerSettings*> by;
    for (const auto& l : rows[r].layers) by[l.layer] = &l.settings;
    for (size_t c = 0; c < layers.size(); ++c) {
      const auto it = by.find(layers[c]);
      const LayerSettings st = it == by.end() ? LayerSettings{} : *it->second;
      s += "<rect class=\"cell\" x=\"" + px(left + cw * double(c)) + "\" y=\"" + px(y) +
           "\" width=\"" + px(cw - 0.5) + "\" height=\"" + px(ch - 0.5) + "\" fill=\"" +
           shade(p.level(st)) + "\"><title>trial " + std::to_string(rows[r].t->number) + ", " +
           esc(layers[c]) + ": " + esc(p.text(st)) + "</title></rect>\n";
    }
  }
  for (size_t c = 0; c < layers.size(); c += std::max<size_t>(1, size_t(std::ceil(18 / cw))))
    s += "<text x=\"" + px(left + cw * (double(c) + 0.5)) + "\" y=\"" + px(h - 8) +
         "\" text-anchor=\"middle\" class=\"tick\">" + std::to_string(c + 1) + "</text>\n";
  return s + "</svg>\n";
}

std::string heatmaps(const Data& d, const std::vector<FrontRow>& rows) {
  std::vector<std::string> layers;
  for (const auto& r : rows)
    for (const auto& l : r.layers)
      if (std::find(layers.begin(), layers.end(), l.layer) == layers.end())
        layers.push_back(l.layer);
  if (rows.empty() || layers.empty()) return "<p>No front with per-layer recipes to show.</p>\n";
  std::string s;
  for (const auto& p : kPanels) {
    const bool used = std::any_of(rows.begin(), rows.end(), [&](const FrontRow& r) {
      return std::any_of(r.layers.begin(), r.layers.end(),
                         [&](const LayerRow& l) { return p.level(l.settings) > 0; });
    });
    if (used) s += "<div class=\"panel\">" + heatmap_svg(p, rows, layers) + "</div>\n";
  }
  if (s.empty()) s = "<p>Every front recipe leaves all layers untouched.</p>\n";
  s += "<details><summary>columns (layers in schedule order)</summary><ol>";
  for (const auto& l : layers) s += "<li>" + esc(l) + "</li>";
  (void)d;
  return s + "</ol></details>\n";
}

std::string front_table(const Data& d, const std::vector<FrontRow>& rows) {
  std::string s = "<table><tr><th>trial</th>";
  for (const auto& o : d.s.objectives) s += "<th>" + esc(o.name) + "</th>";
  s += "<th>per-layer summary</th></tr>\n";
  for (const auto& r : rows) {
    const bool knee = d.knee < d.trials.size() && &d.trials[d.knee] == r.t;
    s += std::string("<tr") + (knee ? " class=\"knee-row\"" : "") + "><td>" +
         std::to_string(r.t->number) + (knee ? " (knee)" : "") + "</td>";
    for (double v : r.t->values) s += "<td>" + g4(v) + "</td>";
    s += "<td><code>" + esc(r.summary) + "</code></td></tr>\n";
  }
  return s + "</table>\n<p class=\"note\">" + esc(kSummaryLegend) + "</p>\n";
}

std::string header(const Data& d, const std::string& title) {
  std::map<std::string, int> counts;
  for (const auto& t : d.trials) ++counts[to_string(t.state)];
  std::string c;
  for (const auto& [k, v] : counts) c += (c.empty() ? "" : ", ") + std::to_string(v) + " " + k;
  std::string s = "<h1>" + esc(title) + "</h1>\n<p>model <code>" + esc(d.s.model_path) +
                  "</code>, target <b>" + esc(d.s.target) + "</b>, data " + esc(d.s.dataset) +
                  (d.s.split.empty() ? "" : " (" + esc(d.s.split) + ")") + ", sampler " +
                  esc(d.s.sampler) + ". Trials: " + (c.empty() ? "none" : esc(c)) +
                  ". Front: " + std::to_string(d.front.members.size()) + " trials" +
                  (d.front.feasible ? "" : " (none feasible: the least-violating shown)") +
                  ".</p>\n";
  return s;
}

const char* kStyle =
    "<style>body{font-family:sans-serif;margin:16px;color:#222}"
    ".plots{display:flex;flex-wrap:wrap;gap:12px}.panel{display:inline-block;margin:4px}"
    "text{font-size:11px}text.axis-label{font-size:12px;font-weight:bold}"
    "text.baseline-label{font-size:10px;fill:#a04000}text.note{fill:#555}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
    "font-size:12px;text-align:right}td:last-child{text-align:left}tr.knee-row{background:#fde}"
    "p.note{font-size:12px;color:#555}</style>\n";

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi) || count < 1) return {lo};
  const double raw = (hi - lo) / count, mag = std::pow(10, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step)
    out.push_back(std::fabs(t) < 1e-12 * step ? 0.0 : t);
  return out;
}

std::string render_report(const Study& s, const std::vector<FrozenTrial>& trials,
                          const ReportOptions& options) {
  if (s.objectives.empty()) throw UsageError("report: study '" + s.name + "' has no objectives");
  const Data d = gather(s, trials);
  const std::string title = options.title.empty() ? "autocompress study " + s.name : options.title;
  const auto rows = front_rows(d);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                  esc(title) + "</title>\n" + kStyle + "</head><body>\n" + header(d, title);
  h += "<h2>Front in each pair of objectives</h2>\n<p class=\"note\">grey: all COMPLETE trials "
       "(hollow: infeasible); blue: the front; red ring: knee; orange diamonds: uniform "
       "baselines.</p>\n<div class=\"plots\">\n";
  if (s.objectives.size() < 2) h += "<p>One objective: no pairs to plot.</p>\n";
  for (size_t i = 0; i < s.objectives.size(); ++i)
    for (size_t j = i + 1; j < s.objectives.size(); ++j) h += scatter_svg(d, i, j);
  h += "</div>\n<h2>Hypervolume over trials</h2>\n<div class=\"plots\">" + hv_svg(d) + "</div>\n";
  h += "<h2>Per-layer knobs of the front</h2>\n<p class=\"note\">rows: front trials by " +
       esc(s.objectives[0].name) + "; columns: layers.</p>\n" + heatmaps(d, rows);
  h += "<h2>The front</h2>\n" + front_table(d, rows) + "</body></html>\n";
  return h;
}

}  // namespace autocompress
