// The flat view of a trial (fixed columns, then the study's objectives, metrics and constraints by
// name) and the small `--where` language over it, with SQL's three-valued logic: a filter selects
// the same trials in SQLite and in memory. The grammar: docs/storage.md, "--where".
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace autocompress {

enum class ColumnSource {
  kNumber,
  kStarted,
  kFinished,
  kDuration,
  kObjective,
  kMetric,
  kConstraint
};
struct FlatColumn {
  std::string name;
  ColumnSource source;
  size_t index = 0;  // objective / constraint index
};

// Text columns of trials_flat that are not filterable numbers.
const std::vector<std::string>& flat_text_columns();
// The numeric flat columns of a study, in view order.
std::vector<FlatColumn> flat_columns(const Study& study, const std::vector<std::string>& metrics);
std::vector<std::string> flat_column_names(const Study& study,
                                           const std::vector<std::string>& metrics);
// The column's value for a trial; nullopt when missing or NaN.
std::optional<double> column_value(const FlatColumn& c, const FrozenTrial& t);

// SQL identifier quoting: "a""b".
std::string quote_identifier(const std::string& name);

// Bounds of an expression, ours rather than SQLite's: deeper nesting overflows SQLite's parser
// stack ("parser stack overflow" past ~44 levels of parentheses) and recursion here; more
// comparisons make SQLite's expression tree too deep (1000: `a or b or ...` nests one level per
// term). Within both, every filter runs in SQLite and in memory alike.
constexpr int kMaxFilterDepth = 16;   // parentheses and `not`s open at once
constexpr int kMaxFilterTerms = 200;  // comparisons

class Filter {
 public:
  // Throws StorageError(kUsage) naming the column and what was expected, or the bound exceeded.
  static Filter parse(const std::string& text);

  const std::string& text() const { return text_; }
  // The names the expression uses, sorted, without duplicates.
  std::vector<std::string> names() const;
  // Throws StorageError(kUsage) "unknown name 'x' in where '...'; known: a, b" for the first
  // unknown (the key "where", which the CLI shows as --where).
  void check_names(const std::vector<std::string>& known) const;

  // A parameterized SQL expression: names as quoted identifiers, numbers as parameters in
  // order: '?' for SQLite, '$first', '$first+1', ... for PostgreSQL.
  enum class Dialect { kSqlite, kPostgres };
  struct Sql {
    std::string where;
    std::vector<double> params;
  };
  Sql to_sql(Dialect dialect = Dialect::kSqlite, int first = 1) const;
  // Evaluates with `lookup(name)` giving a column value (nullopt = NULL).
  bool matches(const std::function<std::optional<double>(const std::string&)>& lookup) const;

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
};

}  // namespace autocompress
