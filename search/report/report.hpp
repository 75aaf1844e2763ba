// The study report (`autocompress report`): one self-contained HTML file with inline SVG plots
// and no scripts or external resources, so it opens in any browser and can be mailed around.
//   - the front in each pair of objectives: every COMPLETE trial (grey; hollow when infeasible),
//     the front (blue), its knee (red, search/report/front.hpp) and the uniform baselines (orange
//     diamonds with their names: uniform_policy() of search/report/front.hpp, i.e. the user attr
//     "baseline" or a trial whose recipe is one uniform setting everywhere);
//   - the hypervolume of the feasible front over the trial numbers (the study's reference point,
//     or the nadir rule of reference_or_nadir);
//   - a per-layer heatmap of the front's knobs (one panel per knob type: prune, precision, weight
//     bits, rank; darker = more compressed), rows = front trials by the first objective;
//   - the front as a table (trial, objectives, per-layer summary).
// Pure: builds a string from storage snapshots; the CLI writes it.
#pragma once

#include <string>
#include <vector>

#include "storage/types.hpp"

namespace autocompress {

struct ReportOptions {
  std::string title;  // default: "autocompress study <name>"
};

// Every element a test or a reader may look for carries a class: circles "trial", "front",
// "knee", paths "baseline" (with data-trial="<number>"), "hv-line", rects "cell"; axis labels are
// <text class="axis-label">. Throws UsageError when the study has fewer than 1 objective.
std::string render_report(const Study& s, const std::vector<FrozenTrial>& trials,
                          const ReportOptions& options = {});

// "Nice" axis ticks (1, 2, 5 x 10^k steps) covering [lo, hi], about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

}  // namespace autocompress
