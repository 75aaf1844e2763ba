// The external-sampler protocol of the autocompress CLI (issue 6):
//   serve   evaluates the candidates another program proposes, one JSON line each, on the same
//           problem and study as `search` (so `pareto` and `report` work on the study)
//
// Protocol (JSON lines; stdout carries only protocol lines, progress goes to stderr):
//   server: one hello line {"hello": "autocompress serve", "study", "db", "trials" (already in the
//           study), "knobs": [{"name", "values": [...] (ordered, index 0 least compressed),
//           "fixed": index or null}], "objectives": [{"name", "direction"}], "constraints":
//           [names], "reference_point": [...], "baselines": [{"name", "params"}] (the warm start)}
//   client: {"params": {"<knob>": value, ...}}, a value being one of the knob's values; frozen
//           knobs may be left out (they take their fixed value)
//   server: {"number", "state" (COMPLETE / PRUNED / FAIL), "values", "constraints", "seconds"}
//           values and constraints in the hello's order, null for NaN (a PRUNED trial has its
//           partial accuracy estimate, a FAIL none); "error" with the reason of a FAIL.
// Each request reserves a trial (storage ask), records its params, evaluates it with early
// stopping exactly as the search loop does, and tells the storage (with the recipe attr). A bad
// line gets {"error": "...", "field": "..."} and the server goes on; EOF ends it (exit 0).
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace autocompress::cli {

class ServeCommands {
 public:
  explicit ServeCommands(CLI::App& app);
  ~ServeCommands();
  std::optional<int> run() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace autocompress::cli
