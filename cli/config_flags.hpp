// Command-line flags made from a configuration table (common/config_table.hpp), and the one map
// from config keys to flags that error messages are shown with. After parsing, the flags given
// are a JSON object of their keys, which the table's parser merges into a config with the same
// checks and messages as the --config file.
#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "common/config_table.hpp"
#include "common/error.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace autocompress::cli {

class ConfigFlags {
 public:
  // Adds a typed option to `command` for each field with a flag, in table order, but those of
  // the keys in `except`.
  ConfigFlags(CLI::App* command, const std::vector<FieldInfo>& fields,
              const std::vector<std::string>& except = {});
  // True when the flag of `key` was given.
  bool given(const std::string& key) const;
  // {key: value} of the flags given: "a,b" lists as arrays, "--no-x" as false.
  nlohmann::json given_json() const;

 private:
  struct Flag {
    FieldInfo info;
    std::variant<std::string, int64_t, uint64_t, double, bool> value;
    CLI::Option* option = nullptr;
  };
  std::deque<Flag> flags_;  // stable addresses: CLI11 writes into `value`
};

// "a,b,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_list(const std::string& s);

// The flag of a config key or field: the tables' flag ("max_latency_ms" -> "--max-latency"),
// otherwise "--" + the key with '-' for '_' ("test_data" -> "--test-data").
std::string flag_of(const std::string& key);
// An error's message as the CLI shows it: the keys it names shown as their flags.
std::string shown(const Error& e);

}  // namespace autocompress::cli
