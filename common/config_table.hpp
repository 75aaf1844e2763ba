// A configuration struct described once, as a table of its fields: per field the JSON key, its
// type, the member it lives in (whose initializer is the default), a check of its range, help
// text and the command-line flag. Parsing (with the checks), writing, the unknown-key message,
// the CLI's flags and their merge all come from the table, so a new setting is one line.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace autocompress {

// The JSON type of a field, for the CLI to register a typed option.
enum class FieldKind { kString, kInt, kUnsigned, kDouble, kBool, kStringList, kObject };

// What the CLI needs of a field: no member, no struct type.
struct FieldInfo {
  std::string key;
  FieldKind kind = FieldKind::kString;
  // CLI11 names, e.g. "--model,-m"; "" = no flag. A bool flag "--no-x" sets the field to false.
  std::string flag;
  std::string help;
};

template <class C>
struct ConfigField {
  FieldInfo info;
  std::function<void(C&, const nlohmann::json&)> read;  // throws json::exception on a bad type
  std::function<nlohmann::json(const C&)> write;
  std::function<void(const C&)> check;  // throws ConfigError; empty = any value
};

// A check of a value of type T, given the field's key.
template <class T>
using Check = std::function<void(const std::string& key, const T&)>;

template <class T>
constexpr FieldKind field_kind() {
  if constexpr (std::is_same_v<T, bool>)
    return FieldKind::kBool;
  else if constexpr (std::is_same_v<T, std::string>)
    return FieldKind::kString;
  else if constexpr (std::is_same_v<T, std::vector<std::string>>)
    return FieldKind::kStringList;
  else if constexpr (std::is_floating_point_v<T>)
    return FieldKind::kDouble;
  else if constexpr (std::is_unsigned_v<T>)
    return FieldKind::kUnsigned;
  else if constexpr (std::is_integral_v<T>)
    return FieldKind::kInt;
  else
    return FieldKind::kObject;
}

// The field `key` stored in member `m` as its JSON value (json::get<T>).
template <class C, class T>
ConfigField<C> field(std::string key, T C::*m, std::string flag, std::string help,
                     Check<T> check = {}) {
  ConfigField<C> f{{key, field_kind<T>(), std::move(flag), std::move(help)},
                   [m](C& c, const nlohmann::json& v) { c.*m = v.template get<T>(); },
                   [m](const C& c) { return nlohmann::json(c.*m); },
                   {}};
  if (check) f.check = [m, key, check](const C& c) { check(key, c.*m); };
  return f;
}

// A field with its own JSON form (a nested configuration): `parse` and `write` convert it.
template <class C, class T>
ConfigField<C> nested_field(std::string key, T C::*m, std::string help,
                            T (*parse)(const nlohmann::json&), nlohmann::json (*write)(const T&)) {
  return {{key, FieldKind::kObject, "", std::move(help)},
          [m, parse](C& c, const nlohmann::json& v) { c.*m = parse(v); },
          [m, write](const C& c) { return write(c.*m); },
          {}};
}

// "config: <key> must be >= <min>, got <value>".
template <class T>
Check<T> at_least(T min) {
  return [min](const std::string& key, const T& v) {
    if (v < min)
      throw ConfigError(key, "config: " + key + " must be >= " + nlohmann::json(min).dump() +
                                 ", got " + nlohmann::json(v).dump());
  };
}

// "config: <key> must be a, b or c, got 'x'".
inline Check<std::string> one_of(std::vector<std::string> choices) {
  return [choices](const std::string& key, const std::string& v) {
    for (const auto& c : choices)
      if (v == c) return;
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i)
      list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
    throw ConfigError(key, "config: " + key + " must be " + list + ", got '" + v + "'");
  };
}

template <class C>
class ConfigTable {
 public:
  explicit ConfigTable(std::vector<ConfigField<C>> fields) : fields_(std::move(fields)) {}

  const std::vector<ConfigField<C>>& fields() const { return fields_; }
  std::vector<FieldInfo> info() const {
    std::vector<FieldInfo> out;
    for (const auto& f : fields_) out.push_back(f.info);
    return out;
  }
  // "model, data, ..." in table order.
  std::string known_keys() const {
    std::string s;
    for (const auto& f : fields_) s += (s.empty() ? "" : ", ") + f.info.key;
    return s;
  }

  // `base` with every key of the object `j` read into it, then every field checked. Throws
  // ConfigError naming the key: an unknown key (listing the known ones), a value of the wrong
  // type (with the value), a value out of range.
  C parse(const nlohmann::json& j, C base) const {
    if (!j.is_object()) throw ConfigError("", "config: expected a JSON object, got " + j.dump());
    for (const auto& [k, v] : j.items()) {
      const ConfigField<C>* f = find(k);
      if (!f) throw ConfigError(k, "config: unknown key '" + k + "' (known: " + known_keys() + ")");
      try {
        f->read(base, v);
      } catch (const nlohmann::json::exception& e) {
        throw ConfigError(k, "config: key '" + k + "': " + e.what() + ", got " + v.dump());
      }
    }
    check(base);
    return base;
  }
  void check(const C& c) const {
    for (const auto& f : fields_)
      if (f.check) f.check(c);
  }
  nlohmann::json write(const C& c) const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& f : fields_) j[f.info.key] = f.write(c);
    return j;
  }
  const ConfigField<C>* find(const std::string& key) const {
    for (const auto& f : fields_)
      if (f.info.key == key) return &f;
    return nullptr;
  }

 private:
  std::vector<ConfigField<C>> fields_;
};

}  // namespace autocompress
