// Parsing JSON that comes from outside (recipes, preprocessing files, config files, profiles,
// request lines, text stored in a database) with a bound on its nesting. nlohmann's parser is
// iterative, but printing, copying and walking a value recurse once per level: a file nested
// 60,000 levels deep crashed the tool while printing it back in an error. Every such parse goes
// through parse_json, which refuses the text as soon as the parser reaches kMaxJsonDepth.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace autocompress {

// Deeper than any file of ours (a recipe nests 4 levels) and shallow enough that every recursive
// walk over the value stays far from the stack's end.
constexpr int kMaxJsonDepth = 64;

namespace json_detail {

struct TooDeep {};

// The byte offset (0-based) of the bracket that opens level `depth` + 1 in `text`, skipping
// strings; text.size() when there is none.
inline size_t deep_offset(std::string_view text, int depth) {
  int level = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++level > depth) return i;
    } else if (c == ']' || c == '}') {
      --level;
    }
  }
  return text.size();
}

}  // namespace json_detail

// The JSON value of `text`. When the text is not JSON, throws make_error("malformed JSON:
// <parser's words>"); when it nests deeper than kMaxJsonDepth arrays / objects, throws
// make_error("JSON nested deeper than 64 levels (at byte N)"). make_error(what) returns the
// caller's typed error (it names the file), e.g.
//   parse_json(text, [&](const std::string& w) { return RecipeError(file, "", w); });
template <class MakeError>
nlohmann::json parse_json(std::string_view text, MakeError&& make_error) {
  const nlohmann::json::parser_callback_t bound = [](int depth, nlohmann::json::parse_event_t e,
                                                     nlohmann::json&) {
    const bool opens = e == nlohmann::json::parse_event_t::object_start ||
                       e == nlohmann::json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) throw json_detail::TooDeep{};
    return true;
  };
  try {
    return nlohmann::json::parse(text, bound);
  } catch (const json_detail::TooDeep&) {
    throw make_error("JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                     " levels (at byte " +
                     std::to_string(json_detail::deep_offset(text, kMaxJsonDepth)) + ")");
  } catch (const nlohmann::json::parse_error& e) {
    throw make_error(std::string("malformed JSON: ") + e.what());
  }
}

}  // namespace autocompress
