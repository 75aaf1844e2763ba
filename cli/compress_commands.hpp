// The compression commands of the autocompress CLI:
//   apply --model M --recipe R [--calib PATH] [--calib-split train] [--calib-images 512]
//         [--target T] -o out.onnx        write the compressed model (QDQ for int8, Cast for bf16),
//                                         calibrating on the recipe's record (version 2) unless
//                                         --calib is given (then a warning when they differ)
//   inspect --model M --recipe R [--json] original vs compressed, per layer and in total:
//                                         params, packed bytes, MACs, BOPs (compressors/size.hpp)
// `inspect` without --recipe stays the plain model listing (cli/model_commands.hpp). The recipe
// is checked against the model's sha256 and, with --target, the target's precision modes.
// Errors are autocompress::Error subclasses, turned into messages in main() as all others.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "compressors/recipe.hpp"

namespace CLI {
class App;
}

namespace autocompress::cli {

// apply without --calib: `recipe` applied to the model at `model`, calibrated on the recipe's
// record, written to `output`; prints what apply prints. Returns the exit code (0).
int write_trial_model(const std::string& model, const Recipe& recipe, const std::string& output);

class CompressCommands {
 public:
  // Adds `apply`, and --recipe / calibration options to the existing `inspect` subcommand.
  explicit CompressCommands(CLI::App& app);
  ~CompressCommands();
  // After app.parse(): runs apply, or inspect with --recipe, and returns the exit code;
  // std::nullopt otherwise.
  std::optional<int> run() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace autocompress::cli
