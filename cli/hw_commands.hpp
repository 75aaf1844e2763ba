// The hardware-model commands of the autocompress CLI:
//   targets                        the bundled and user target profiles, one line each
//   profile --model M [--recipe R] --target T
//                                  per-layer roofline latency and energy on a target, totals;
//                                  on `host` the host model (cached measurements, else the
//                                  fitted roofline; hwmodels/predict_host.hpp); --measure adds
//                                  measured per-layer and whole-model latency on this machine
//   calibrate --target T --from layers.csv   fits efficiency factors and overhead (NNLS)
// Errors are autocompress::Error subclasses, turned into messages in main() as all others.
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace autocompress::cli {

class HwCommands {
 public:
  // Adds the subcommands to app; keep the object alive until run().
  explicit HwCommands(CLI::App& app);
  ~HwCommands();
  // After app.parse(): runs the chosen command if it is one of these and returns its exit code;
  // std::nullopt when another command was chosen.
  std::optional<int> run() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace autocompress::cli
