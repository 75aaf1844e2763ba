#include "cli/config_flags.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>
#include <sstream>

#include "search/study/problem_config.hpp"
#include "search/study/study_options.hpp"

namespace autocompress::cli {

namespace {

// The first long name of CLI11 names: "--model,-m" -> "--model".
std::string long_name(const std::string& names) {
  std::stringstream ss(names);
  for (std::string n; std::getline(ss, n, ',');)
    if (n.rfind("--", 0) == 0) return n;
  return names;
}

bool negated(const FieldInfo& f) { return long_name(f.flag).rfind("--no-", 0) == 0; }

// Every key of the configuration tables that has a flag.
std::map<std::string, std::string> table_flags() {
  std::map<std::string, std::string> out;
  for (const auto& table : {problem_config_table().info(), study_options_table().info()})
    for (const auto& f : table)
      if (!f.flag.empty()) out[f.key] = long_name(f.flag);
  return out;
}

}  // namespace

ConfigFlags::ConfigFlags(CLI::App* command, const std::vector<FieldInfo>& fields,
                         const std::vector<std::string>& except) {
  for (const auto& f : fields) {
    if (f.flag.empty() || std::find(except.begin(), except.end(), f.key) != except.end()) continue;
    Flag& flag = flags_.emplace_back(Flag{f, {}, nullptr});
    const auto add = [&](auto init) {
      flag.value = init;
      return command->add_option(f.flag, std::get<decltype(init)>(flag.value), f.help);
    };
    switch (f.kind) {
      case FieldKind::kBool:
        flag.value = false;
        flag.option = command->add_flag(f.flag, std::get<bool>(flag.value), f.help);
        break;
      case FieldKind::kInt:
        flag.option = add(int64_t(0));
        break;
      case FieldKind::kUnsigned:
        flag.option = add(uint64_t(0));
        break;
      case FieldKind::kDouble:
        flag.option = add(0.0);
        break;
      default:  // strings, "a,b" lists
        flag.option = add(std::string());
    }
  }
}

bool ConfigFlags::given(const std::string& key) const {
  for (const auto& f : flags_)
    if (f.info.key == key) return f.option->count() > 0;
  return false;
}

nlohmann::json ConfigFlags::given_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : flags_) {
    if (f.option->count() == 0) continue;
    if (f.info.kind == FieldKind::kBool)
      j[f.info.key] = !negated(f.info);
    else if (f.info.kind == FieldKind::kStringList)
      j[f.info.key] = split_list(std::get<std::string>(f.value));
    else
      std::visit([&](const auto& v) { j[f.info.key] = v; }, f.value);
  }
  return j;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string flag_of(const std::string& key) {
  static const std::map<std::string, std::string> flags = table_flags();
  if (const auto it = flags.find(key); it != flags.end()) return it->second;
  std::string flag = "--" + key;
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

std::string shown(const Error& e) { return e.message(flag_of); }

}  // namespace autocompress::cli
