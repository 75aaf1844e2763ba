// Typed errors of autocompress. Every part throws these; the CLI turns them into messages and
// exit codes in exactly one place (cli/main.cpp). Each error carries where it happened (file,
// node, field) so that the message alone tells the user what to fix.
#pragma once

#include <functional>
#include <memory>
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

// A config key or field named inside an error message. Below cli/ messages name keys, not
// command-line flags: what() shows the key itself, and the CLI shows its flag instead
// (Error::message). E.g. key_ref("calib") + " is required when " + key_ref("data") + " is a file".
inline std::string key_ref(const std::string& key) { return "\x1f" + key + "\x1f"; }

// `text` with every key_ref(k) replaced by name(k) (the key itself when name is empty).
inline std::string with_keys(const std::string& text,
                             const std::function<std::string(const std::string&)>& name = {}) {
  std::string out;
  for (size_t at = 0;;) {
    const size_t open = text.find('\x1f', at);
    const size_t close = open == std::string::npos ? open : text.find('\x1f', open + 1);
    if (close == std::string::npos) return out + text.substr(at);
    const std::string key = text.substr(open + 1, close - open - 1);
    out += text.substr(at, open - at) + (name ? name(key) : key);
    at = close + 1;
  }
}

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message)
      : std::runtime_error(with_keys(message)),
        kind_(kind),
        text_(message.find('\x1f') == std::string::npos
                  ? nullptr
                  : std::make_shared<const std::string>(message)) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }
  // The message with each key it names shown as name(key) (the CLI passes key -> flag).
  std::string message(const std::function<std::string(const std::string&)>& name) const {
    return text_ ? with_keys(*text_, name) : what();
  }

 private:
  ErrorKind kind_;
  std::shared_ptr<const std::string> text_;  // the message with its key_refs, when it has any
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
// A bad or missing setting: `key` is the config key or field it is about ("calib", "chunk").
struct ConfigError : UsageError {
  ConfigError(const std::string& key, const std::string& m) : UsageError(m), key_(key) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
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
