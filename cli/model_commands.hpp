// The model commands of the autocompress CLI:
//   inspect --model M [--json]            a model's layers: op, shapes, params, MACs, and totals
//   eval --model M [--data D] [--reference R.npy] [--precision fp32|bf16] [--executor E] [--json]
//                                         top-1 / top-5 (agreement and KL with --reference), speed
//   run --model M --input X.npy -o Y.npy  one model run on an input tensor, raw outputs
// `inspect --recipe` is cli/compress_commands.hpp's (it runs first).
// Errors are autocompress::Error subclasses, turned into messages in main() as all others.
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace autocompress::cli {

class ModelCommands {
 public:
  // Adds the subcommands to app; keep the object alive until run().
  explicit ModelCommands(CLI::App& app);
  ~ModelCommands();
  // After app.parse(): runs the chosen command if it is one of these and returns its exit code;
  // std::nullopt when another command was chosen.
  std::optional<int> run() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace autocompress::cli
