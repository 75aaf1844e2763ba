// The bounded JSON parse (common/json.hpp) and every reader of user JSON built on it: nesting past
// kMaxJsonDepth is refused with the reader's own typed error naming the file and the depth,
// instead of crashing while the value is walked or printed (issue 17).
#include "common/json.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "compressors/recipe.hpp"
#include "data/preprocess.hpp"
#include "hwmodels/profile.hpp"
#include "search/samplers/settings.hpp"

namespace autocompress {
namespace {

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }
std::string nested_objects(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  return s + "1" + std::string(depth, '}');
}

// parse_json's error message for `text` ("" when it parses).
std::string problem(const std::string& text) {
  try {
    parse_json(text, [](const std::string& w) { return UsageError("f.json: " + w); });
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(BoundedJson, AcceptsUpToTheBound) {
  EXPECT_EQ(problem(nested_arrays(kMaxJsonDepth)), "");
  EXPECT_EQ(problem(nested_objects(kMaxJsonDepth)), "");
  const auto j =
      parse_json(R"({"a": [1, {"b": "]]]"}]})", [](const std::string& w) { return UsageError(w); });
  EXPECT_EQ(j["a"][1]["b"], "]]]");
}

TEST(BoundedJson, RefusesDeeperNamingTheDepthAndTheByte) {
  EXPECT_EQ(problem(nested_arrays(kMaxJsonDepth + 1)),
            "f.json: JSON nested deeper than 64 levels (at byte 64)");
  EXPECT_EQ(problem(nested_objects(kMaxJsonDepth + 1)),
            "f.json: JSON nested deeper than 64 levels (at byte " +
                std::to_string(5 * kMaxJsonDepth) + ")");
  // Brackets inside strings do not count.
  EXPECT_NE(problem("[\"[[[\"," + nested_arrays(kMaxJsonDepth) + "]").find("(at byte 70)"),
            std::string::npos);
  // The crash of issue 17: 60,000 levels, and truncated (never closed) nesting.
  EXPECT_NE(problem(nested_arrays(60000)).find("nested deeper than 64"), std::string::npos);
  EXPECT_NE(problem(std::string(1000000, '[')).find("nested deeper than 64"), std::string::npos);
}

TEST(BoundedJson, MalformedKeepsTheParsersWords) {
  EXPECT_NE(problem("{\"a\": ").find("f.json: malformed JSON: [json.exception.parse_error"),
            std::string::npos);
  EXPECT_NE(problem("").find("malformed JSON"), std::string::npos);
}

// Each reader of user JSON refuses deep nesting with its own error type, naming the file.
TEST(BoundedJson, EveryReaderRefusesDeepNesting) {
  const std::string deep = nested_objects(60000);
  const std::string deep_list = nested_arrays(60000);
  auto expect_deep = [](auto&& read, const std::string& file) {
    try {
      read();
      ADD_FAILURE() << file << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("nested deeper than 64 levels"), std::string::npos)
          << e.what();
    }
  };
  for (const auto& text : {deep, deep_list}) {
    EXPECT_THROW(parse_recipe(text, "r.json"), RecipeError);
    expect_deep([&] { parse_recipe(text, "r.json"); }, "r.json");
    EXPECT_THROW(parse_preprocessing(text, "pre.json"), DataError);
    expect_deep([&] { parse_preprocessing(text, "pre.json"); }, "pre.json");
    EXPECT_THROW(parse_profile(text, "p.json"), ProfileError);
    expect_deep([&] { parse_profile(text, "p.json"); }, "p.json");
    EXPECT_THROW(SamplerSettings("nsga2", text), UsageError);
    expect_deep([&] { SamplerSettings("nsga2", text); }, "sampler 'nsga2'");
  }
}

}  // namespace
}  // namespace autocompress
