// The search commands of the autocompress CLI (issue 6):
//   search       runs (or resumes) a compression search study on a model, data and target
//   ask          reserves the next trial of a study and prints its recipe (external evaluators)
//   tell         records an external evaluator's values for a reserved trial
//   sensitivity  each knob alone at 3 levels on a validation subset; curves stored in the study
// Errors are autocompress::Error subclasses, turned into messages in main() as all others.
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace autocompress::cli {

class SearchCommands {
 public:
  // Adds the subcommands to app; keep the object alive until run().
  explicit SearchCommands(CLI::App& app);
  ~SearchCommands();
  // After app.parse(): runs the chosen command if it is one of these and returns its exit code;
  // std::nullopt when another command was chosen.
  std::optional<int> run() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace autocompress::cli
