// The trial-storage commands of the autocompress CLI (docs/storage.md):
//   studies --db D                     studies with trial counts by state, best values, activity
//   trials --db D --study S [--where EXPR] [--sort [-]KEY] [--limit N] [--pareto]
//          [--format table|json|csv]   the trials of a study, filtered, sorted, Pareto set
//   export --db D --study S --trial N [-o recipe.json] [--onnx out.onnx]
//                                      a trial's recipe with the model hash, its metrics and the
//                                      study's calibration record; its compressed model
//   copy-study --from A --to B [--study S]
//                                      one study copied exactly (storage/study_copy.hpp)
// The database is opened read-only: a query never changes or blocks a running search. Files are
// written atomically (a temporary beside them, then renamed).
// Errors are autocompress::Error subclasses, turned into messages in main() as all others.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "compressors/recipe.hpp"
#include "storage/types.hpp"

namespace CLI {
class App;
}

namespace autocompress::cli {

// Trial `t`'s recipe as `export` writes it: the recorded recipe with the study's calibration
// record (search/study/study_data.hpp study_calibration) when the study recorded its config.
// `pareto --export-dir` writes the same.
Recipe exported_recipe(const Study& s, const FrozenTrial& t);
// Writes `r` as JSON to `path`, atomically; IoError naming it.
void write_recipe(const Recipe& r, const std::string& path);

class StorageCommands {
 public:
  // Adds the subcommands to app; keep the object alive until run().
  explicit StorageCommands(CLI::App& app);
  ~StorageCommands();
  // After app.parse(): runs the chosen command if it is one of these and returns its exit code;
  // std::nullopt when another command was chosen.
  std::optional<int> run() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace autocompress::cli
