#include "storage/filter.hpp"

#include <gtest/gtest.h>

#include <map>

#include "storage/storage_error.hpp"

namespace autocompress {
namespace {

std::string error_of(const std::string& text) {
  try {
    Filter::parse(text);
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    return e.what();
  }
  return "";
}

TEST(Filter, ParsesToParameterizedSql) {
  const auto f = Filter::parse("accuracy > 0.9 and (latency_ms<2 OR not x.y/z != -1e-3)");
  const auto sql = f.to_sql();
  EXPECT_EQ(sql.where, "(\"accuracy\" > ?) AND ((\"latency_ms\" < ?) OR (NOT (\"x.y/z\" != ?)))");
  EXPECT_EQ(sql.params, (std::vector<double>{0.9, 2, -1e-3}));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"accuracy", "latency_ms", "x.y/z"}));
}

TEST(Filter, NeverConcatenatesValuesIntoSql) {
  const auto sql = Filter::parse("a = 1 or b == 2 && c <> 3 || !d <= 4").to_sql();
  EXPECT_EQ(sql.where.find_first_of("0123456789'"), std::string::npos) << sql.where;
  EXPECT_EQ(sql.params.size(), 4u);
}

TEST(Filter, QuotesIdentifiers) { EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\""); }

TEST(Filter, BadExpressionsNameTheColumn) {
  EXPECT_NE(error_of("").find("empty expression"), std::string::npos);
  EXPECT_NE(error_of("accuracy > ").find("column 12: expected a name or a number"),
            std::string::npos);
  EXPECT_NE(error_of("accuracy 0.9").find("column 10: expected a comparison"), std::string::npos)
      << error_of("accuracy 0.9");
  EXPECT_NE(error_of("(a > 1").find("expected ')'"), std::string::npos);
  EXPECT_NE(error_of("a > 1)").find("unexpected ')'"), std::string::npos);
  EXPECT_NE(error_of("a > 1; DROP TABLE trials").find("unexpected character ';'"),
            std::string::npos);
  EXPECT_NE(error_of("a > 'x'").find("unexpected character"), std::string::npos);
  EXPECT_NE(error_of("a & b").find("use and / or"), std::string::npos);
  EXPECT_NE(error_of("a > 1x").find("after a number"), std::string::npos);
}

// Nesting and length are bounded by our own limits, with a message naming them, before the
// parser recurses (issue 17: 15,000 parentheses crashed it) or SQLite overflows.
TEST(Filter, NestingAndLengthAreBounded) {
  const std::string deep =
      std::string(kMaxFilterDepth, '(') + "a > 1" + std::string(kMaxFilterDepth, ')');
  EXPECT_EQ(error_of(deep), "");
  EXPECT_NE(error_of("(" + deep + ")").find("column 17: nested deeper than 16 levels"),
            std::string::npos)
      << error_of("(" + deep + ")");
  std::string nots;
  for (int i = 0; i <= kMaxFilterDepth; ++i) nots += "not ";
  EXPECT_NE(error_of(nots + "a > 1").find("nested deeper than 16 levels"), std::string::npos);
  EXPECT_NE(error_of(std::string(15000, '(') + "a > 1" + std::string(15000, ')'))
                .find("nested deeper than 16 levels"),
            std::string::npos);
  std::string terms = "a > 0";
  for (int i = 1; i < kMaxFilterTerms; ++i) terms += " or a > " + std::to_string(i);
  EXPECT_EQ(error_of(terms), "");
  EXPECT_NE(error_of(terms + " or b < 1").find("more than 200 comparisons"), std::string::npos)
      << error_of(terms + " or b < 1");
}

// A character the language does not know is shown whole (all its UTF-8 bytes), at its column
// counted in characters; a byte that is not UTF-8 is shown escaped.
TEST(Filter, NonAsciiIsShownWhole) {
  EXPECT_NE(error_of("é > 1").find("at column 1: unexpected character 'é'"), std::string::npos)
      << error_of("é > 1");
  EXPECT_NE(error_of("aé > 1").find("at column 2: unexpected character 'é'"), std::string::npos)
      << error_of("aé > 1");
  EXPECT_NE(error_of("a > 1 and \xff").find("column 11: unexpected character '\\xff'"),
            std::string::npos)
      << error_of("a > 1 and \xff");
}

TEST(Filter, ThreeValuedLogicLikeSql) {
  std::map<std::string, double> row = {{"a", 1}, {"b", 2}};
  auto lookup = [&](const std::string& n) -> std::optional<double> {
    auto it = row.find(n);
    if (it == row.end()) return std::nullopt;
    return it->second;
  };
  auto m = [&](const char* e) { return Filter::parse(e).matches(lookup); };
  EXPECT_TRUE(m("a < b"));
  EXPECT_FALSE(m("missing > 0"));
  EXPECT_FALSE(m("not missing > 0"));
  EXPECT_TRUE(m("missing > 0 or a = 1"));
  EXPECT_FALSE(m("missing > 0 and a = 1"));
  EXPECT_FALSE(m("not (missing > 0 and a = 1)"));
  EXPECT_TRUE(m("not (missing > 0 and a = 2)"));  // unknown AND false = false
}

TEST(Filter, UnknownNamesListTheKnownOnes) {
  const auto f = Filter::parse("acc > 1 and latency_ms < 2");
  try {
    f.check_names({"accuracy", "latency_ms"});
    FAIL();
  } catch (const StorageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "unknown name 'acc' in where 'acc > 1 and latency_ms < 2'; known: accuracy, "
              "latency_ms");
  }
}

}  // namespace
}  // namespace autocompress
