// Typed errors of autocompress. Every part throws these; the CLI turns them into messages and
// exit codes in exactly one place (cli/main.cpp). Each error carries where it happened (file,
// node, field) so that the message alone tells the user what to fix.
#pragma once

#include <stdexcept>
#include <string>

namespace autocompress {

enum class ErrorKind {
  kUsage = 2,        // bad command line / option value
  kModel = 3,        // malformed or inconsistent model file / graph
  kUnsupported = 4,  // valid model using something we do not implement
  kData = 5,         // dataset / tensor file problems
  kRuntime = 6,      // oneDNN or other runtime failure
  kIo = 7,           // file system
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

// "<file>: node '<node>': <what>" with the empty parts left out.
inline std::string located(const std::string& file, const std::string& node,
                           const std::string& what) {
  std::string s;
  if (!file.empty()) s += file + ": ";
  if (!node.empty()) s += "node '" + node + "': ";
  return s + what;
}

struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ErrorKind::kUsage, m) {}
};
struct ModelError : Error {
  ModelError(const std::string& file, const std::string& node, const std::string& what)
      : Error(ErrorKind::kModel, located(file, node, what)) {}
};
struct UnsupportedError : Error {
  UnsupportedError(const std::string& file, const std::string& node, const std::string& what)
      : Error(ErrorKind::kUnsupported, located(file, node, what)) {}
};
struct DataError : Error {
  DataError(const std::string& file, const std::string& what)
      : Error(ErrorKind::kData, located(file, "", what)) {}
};
struct RuntimeError : Error {
  explicit RuntimeError(const std::string& m) : Error(ErrorKind::kRuntime, m) {}
};
struct IoError : Error {
  IoError(const std::string& file, const std::string& what)
      : Error(ErrorKind::kIo, located(file, "", what)) {}
};
// A recipe that cannot be read or does not fit its model: "<file>: <field>: <what>".
struct RecipeError : Error {
  RecipeError(const std::string& file, const std::string& field, const std::string& what)
      : Error(ErrorKind::kUsage,
              (file.empty() ? "" : file + ": ") + (field.empty() ? "" : field + ": ") + what) {}
};

}  // namespace autocompress
