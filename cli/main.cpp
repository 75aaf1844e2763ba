// The autocompress command line: wires the command groups (cli/*_commands.hpp) and is the one
// place where typed errors become messages and exit codes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "cli/compress_commands.hpp"
#include "cli/config_flags.hpp"
#include "cli/hw_commands.hpp"
#include "cli/model_commands.hpp"
#include "cli/pareto_commands.hpp"
#include "cli/search_commands.hpp"
#include "cli/serve_commands.hpp"
#include "cli/storage_commands.hpp"
#include "common/error.hpp"
#include "common/printable.hpp"

namespace ac = autocompress;

int main(int argc, char** argv) {
  CLI::App app{"autocompress: automated compression search for trained neural networks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("autocompress 0.1.0, oneDNN ") +
                                        std::to_string(dnnl::version()->major) + "." +
                                        std::to_string(dnnl::version()->minor) + "." +
                                        std::to_string(dnnl::version()->patch));

  ac::cli::ModelCommands model_commands(app);        // inspect, eval, run
  ac::cli::HwCommands hw_commands(app);              // targets, profile
  ac::cli::CompressCommands compress_commands(app);  // apply, inspect --recipe
  ac::cli::StorageCommands storage_commands(app);    // studies, trials, export, copy-study
  ac::cli::SearchCommands search_commands(app);      // search, ask, tell, sensitivity
  ac::cli::ParetoCommands pareto_commands(app);      // pareto, report
  ac::cli::ServeCommands serve_commands(app);        // serve (external samplers)

  try {
    app.parse(argc, argv);
    if (auto rc = hw_commands.run()) return *rc;
    if (auto rc = storage_commands.run()) return *rc;
    if (auto rc = search_commands.run()) return *rc;
    if (auto rc = pareto_commands.run()) return *rc;
    if (auto rc = serve_commands.run()) return *rc;
    if (auto rc = compress_commands.run()) return *rc;
    if (auto rc = model_commands.run()) return *rc;  // after inspect --recipe
  } catch (const CLI::ParseError& e) {
    // CLI11 prints --help / --version (exit 0) or the usage error; its own codes (104-114) are
    // not the README's: every usage error exits 2.
    return app.exit(e) == 0 ? 0 : int(ac::ErrorKind::kUsage);
  } catch (const ac::Error& e) {
    std::fprintf(stderr, "autocompress: error: %s\n", ac::printable(ac::cli::shown(e)).c_str());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "autocompress: internal error: %s\n", ac::printable(e.what()).c_str());
    return 1;
  }
  return 0;
}
