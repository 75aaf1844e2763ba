// The front commands of the autocompress CLI: `pareto` (the study's front as a table, JSON or CSV;
// --export-dir, --target re-scoring, --verify on the test split) and `report` (one HTML file).
// The database is opened read-only except for --verify's record (docs/search.md, "Test-split
// verification"). Errors are autocompress::Error subclasses, turned into messages in main().
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
