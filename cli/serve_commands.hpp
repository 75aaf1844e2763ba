// The external-sampler protocol of the autocompress CLI: `serve` evaluates the candidates another
// program proposes, one JSON line each, on the same problem and study as `search`. The protocol:
// docs/search.md, "serve". Errors in a request are answered on the protocol; the server goes on.
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
