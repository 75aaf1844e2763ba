// The search commands of the autocompress CLI:
//   search       runs (or resumes) a compression search study on a model, data and target
//   ask          reserves the next trial of a study and prints its recipe (external evaluators)
//   tell         records an external evaluator's values for a reserved trial
//   sensitivity  each knob alone at 3 levels on a validation subset; curves stored in the study
// Errors are autocompress::Error subclasses, turned into messages in main() as all others.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "search/study/study.hpp"

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

// The problem and study flags of `search` (without its budget flags) on another command, e.g.
// `serve`, so that it describes the identical problem: defaults <- --config <- flags.
class ProblemFlags {
 public:
  explicit ProblemFlags(CLI::App* command);
  ~ProblemFlags();
  std::pair<ProblemConfig, StudyOptions> effective() const;
  bool given(const std::string& key) const;  // "sampler", "seed", ... (search_commands.cpp)
  const std::string& db() const;

 private:
  std::unique_ptr<struct FlagsState> s_;
};

}  // namespace autocompress::cli
