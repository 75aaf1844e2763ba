// Hypervolume after a few trial budgets for a set of studies (bench/real_compare.sh, BENCHMARKS.md
// "Search: samplers on the real problem"): the same function for every sampler, ours and Optuna's
// (search/report/front.hpp hypervolume_history over the stored trials in trial-number order, with
// the study's reference point; only feasible COMPLETE trials add volume, as in `pareto`).
//
//   real_hv --budgets 50,100,200 LABEL=DB:STUDY ...
//
// Prints one row per study (hypervolume at each budget, "-" when the study has fewer trials, and
// the median overhead per trial: duration minus the evaluation's eval_s metric, i.e. the
// sampler's proposal plus storage work), then per label the median [min, max] over its studies.
// Not a Google Benchmark: a measurement over finished studies.
#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "search/moo/pareto.hpp"
#include "search/report/front.hpp"
#include "storage/sqlite_storage.hpp"

namespace ac = autocompress;

namespace {

struct Row {
  std::string label, name;
  std::vector<double> hv;  // per budget; < 0: not enough trials
  double overhead_s = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

Row measure(const std::string& label, const std::string& db, const std::string& name,
            const std::vector<int64_t>& budgets) {
  ac::SqliteStorage storage(db);
  const ac::Study st = storage.get_study(name);
  auto trials = storage.trials(st.id);
  std::sort(trials.begin(), trials.end(), [](auto& a, auto& b) { return a.number < b.number; });
  const size_t m = st.objectives.size();
  std::vector<double> pts;
  std::vector<uint8_t> feasible;
  std::vector<double> overhead;
  for (const auto& t : trials) {
    const bool ok = ac::has_all_values(st, t);
    for (size_t j = 0; j < m; ++j) pts.push_back(ok ? t.values[j] : st.reference_point.at(j));
    feasible.push_back(ok && ac::is_feasible(t.constraints));
    const auto ev = t.metrics.find("eval_s");
    if (ev != t.metrics.end() && t.finished_at > 0)
      overhead.push_back(t.finished_at - t.started_at - ev->second);
  }
  const auto curve =
      ac::hypervolume_history(pts, m, ac::study_senses(st), feasible, st.reference_point);
  Row r{label, name, {}, overhead.empty() ? 0 : median(overhead)};
  for (int64_t b : budgets) r.hv.push_back(int64_t(curve.size()) >= b ? curve[size_t(b - 1)] : -1);
  return r;
}

void print_summary(const std::vector<Row>& rows, const std::vector<int64_t>& budgets) {
  std::printf("\nmedian [min, max] over the studies of a label, n = studies with the budget\n");
  std::printf("%-14s %6s", "sampler", "seeds");
  for (int64_t b : budgets) std::printf("   %-44s", ("HV after " + std::to_string(b)).c_str());
  std::printf("\n");
  std::vector<std::string> labels;
  for (const auto& r : rows)
    if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
  for (const auto& l : labels) {
    std::printf("%-14s", l.c_str());
    for (size_t k = 0; k < budgets.size(); ++k) {
      std::vector<double> v;
      for (const auto& r : rows)
        if (r.label == l && r.hv[k] >= 0) v.push_back(r.hv[k]);
      if (k == 0) std::printf(" %6zu", v.size());
      if (v.empty()) {
        std::printf("   %-44s", "-");
        continue;
      }
      char cell[96];
      std::snprintf(cell, sizeof cell, "%.5g [%.5g, %.5g] n=%zu", median(v),
                    *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()),
                    v.size());
      std::printf("   %-44s", cell);
    }
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<int64_t> budgets = {50, 100, 200};
  std::vector<Row> rows;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--budgets" && i + 1 < argc) {
      budgets.clear();
      std::stringstream ss(argv[++i]);
      for (std::string b; std::getline(ss, b, ',');) budgets.push_back(std::stoll(b));
      continue;
    }
    const size_t eq = a.find('='), colon = a.rfind(':');
    if (eq == std::string::npos || colon == std::string::npos || colon < eq)
      throw ac::UsageError("expected LABEL=DB:STUDY, got '" + a + "'");
    rows.push_back(
        measure(a.substr(0, eq), a.substr(eq + 1, colon - eq - 1), a.substr(colon + 1), budgets));
  }
  std::printf("%-14s %-24s", "sampler", "study");
  for (int64_t b : budgets) std::printf(" %10lld", (long long)b);
  std::printf("  overhead/trial\n");
  for (const auto& r : rows) {
    std::printf("%-14s %-24s", r.label.c_str(), r.name.c_str());
    for (double h : r.hv) h >= 0 ? std::printf(" %10.5g", h) : std::printf(" %10s", "-");
    std::printf("  %.3f s\n", r.overhead_s);
  }
  print_summary(rows, budgets);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "real_hv: %s\n", e.what());
  return 2;
}
