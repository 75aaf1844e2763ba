// The front commands of the autocompress CLI (issue 6):
//   pareto --db D --study S [--format table|json|csv] [--export-dir DIR] [--target T [--model M]]
//          [--verify [--test-data D [--test-labels L]] [--test-limit N] [--repeats R]
//                    [--threads T]]
//       the study's front (constraint-domination) as a table: trial, objectives, a compact
//       per-layer summary, the knee marked. --export-dir writes one recipe per front point.
//       --target re-scores every COMPLETE trial's latency and energy for another hardware
//       profile from its recipe (accuracy does not depend on the target) and shows that target's
//       front: zero new evaluations. --verify re-evaluates the front and the study's uniform
//       baselines on the test split (paired accuracy against the original, with 95% intervals),
//       measures their host latency (median of interleaved runs with an order-statistic
//       interval), compares the front with the best uniform baseline (search/study/verify.hpp) and
//       records each trial's verification as the study attr "verify:<trial>" (finished trials
//       are immutable); the database is then opened for writing.
//   report --db D --study S -o report.html
//       one self-contained HTML file with SVG plots (search/report/report.hpp).
// The database is opened read-only (except for --verify's record). Errors are
// autocompress::Error subclasses, turned into messages in main().
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace autocompress::cli {

class ParetoCommands {
 public:
  // Adds the subcommands to app; keep the object alive until run().
  explicit ParetoCommands(CLI::App& app);
  ~ParetoCommands();
  // After app.parse(): runs the chosen command if it is one of these and returns its exit code;
  // std::nullopt when another command was chosen.
  std::optional<int> run() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace autocompress::cli
