#include "storage/filter.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include "common/printable.hpp"
#include "storage/storage_error.hpp"

namespace autocompress {

// ------------------------------------------------------------------ flat columns

const std::vector<std::string>& flat_text_columns() {
  static const std::vector<std::string> k = {"trial_id", "study_id", "study",
                                             "state",    "worker",   "error"};
  return k;
}

std::vector<FlatColumn> flat_columns(const Study& study, const std::vector<std::string>& metrics) {
  std::vector<FlatColumn> cols = {{"number", ColumnSource::kNumber},
                                  {"started_at", ColumnSource::kStarted},
                                  {"finished_at", ColumnSource::kFinished},
                                  {"duration_s", ColumnSource::kDuration}};
  std::set<std::string> seen(flat_text_columns().begin(), flat_text_columns().end());
  for (const auto& c : cols) seen.insert(c.name);
  auto add = [&](const std::string& name, ColumnSource src, size_t i) {
    if (seen.insert(name).second) cols.push_back({name, src, i});
  };
  for (size_t i = 0; i < study.objectives.size(); ++i)
    add(study.objectives[i].name, ColumnSource::kObjective, i);
  for (const auto& m : metrics) add(m, ColumnSource::kMetric, 0);
  for (size_t i = 0; i < study.constraints.size(); ++i)
    add(study.constraints[i], ColumnSource::kConstraint, i);
  return cols;
}

std::vector<std::string> flat_column_names(const Study& study,
                                           const std::vector<std::string>& metrics) {
  std::vector<std::string> names;
  for (const auto& c : flat_columns(study, metrics)) names.push_back(c.name);
  return names;
}

std::optional<double> column_value(const FlatColumn& c, const FrozenTrial& t) {
  double v = NAN;
  auto at = [](const std::vector<double>& xs, size_t i) { return i < xs.size() ? xs[i] : NAN; };
  switch (c.source) {
    case ColumnSource::kNumber:
      v = double(t.number);
      break;
    case ColumnSource::kStarted:
      v = t.started_at > 0 ? t.started_at : NAN;
      break;
    case ColumnSource::kFinished:
      v = t.finished_at > 0 ? t.finished_at : NAN;
      break;
    case ColumnSource::kDuration:
      v = t.finished_at > 0 ? t.finished_at - t.started_at : NAN;
      break;
    case ColumnSource::kObjective:
      v = at(t.values, c.index);
      break;
    case ColumnSource::kConstraint:
      v = at(t.constraints, c.index);
      break;
    case ColumnSource::kMetric: {
      auto it = t.metrics.find(c.name);
      if (it != t.metrics.end()) v = it->second;
      break;
    }
  }
  if (std::isnan(v)) return std::nullopt;
  return v;
}

std::string quote_identifier(const std::string& name) {
  std::string q = "\"";
  for (char ch : name) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

// ------------------------------------------------------------------ parser

struct Filter::Node {
  enum Kind { kOr, kAnd, kNot, kCmp } kind;
  std::vector<std::shared_ptr<const Node>> kids;  // kOr / kAnd / kNot
  std::string op;                                 // kCmp: canonical SQL operator
  struct Operand {
    bool is_name = false;
    std::string name;
    double number = 0;
  } lhs, rhs;
};

namespace {

using NodeP = std::shared_ptr<const Filter::Node>;

struct Token {
  enum Kind { kName, kNumber, kOp, kLParen, kRParen, kAnd, kOr, kNot, kEnd } kind;
  std::string text;
  size_t col;  // 1-based
  double number = 0;
};

// `col` is a byte column; the message counts characters (UTF-8 code points), as a terminal does.
[[noreturn]] void fail(const std::string& text, size_t col, const std::string& what) {
  size_t chars = 1;
  for (size_t i = 0; i + 1 < col && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++chars;
  throw StorageError(ErrorKind::kUsage, "",
                     "bad " + key_ref("where") + " expression '" + text + "' at column " +
                         std::to_string(chars) + ": " + what);
}

// The character starting at byte i, whole (its UTF-8 sequence), printable: a message never shows
// half a character.
std::string char_at(const std::string& s, size_t i) {
  return printable(std::string_view(s).substr(i, std::max<size_t>(1, utf8_length(s, i))));
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower((unsigned char)c));
  return s;
}

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  auto is_name_char = [](char c) {
    return std::isalnum((unsigned char)c) || c == '_' || c == '.' || c == '/';
  };
  while (i < s.size()) {
    const char c = s[i];
    const size_t col = i + 1;
    if (std::isspace((unsigned char)c)) {
      ++i;
    } else if (c == '(' || c == ')') {
      out.push_back({c == '(' ? Token::kLParen : Token::kRParen, std::string(1, c), col});
      ++i;
    } else if (std::isdigit((unsigned char)c) || c == '.' || c == '-' || c == '+') {
      const char* begin = s.c_str() + i;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      if (end == begin) fail(s, col, "expected a number, got '" + std::string(1, c) + "'");
      out.push_back({Token::kNumber, std::string(begin, static_cast<const char*>(end)), col, v});
      i += size_t(end - begin);
      if (i < s.size() && is_name_char(s[i]))
        fail(s, i + 1, "unexpected '" + std::string(1, s[i]) + "' after a number");
    } else if (std::isalpha((unsigned char)c) || c == '_') {
      size_t j = i;
      while (j < s.size() && is_name_char(s[j])) ++j;
      std::string w = s.substr(i, j - i);
      const std::string l = lower(w);
      Token::Kind k = l == "and"   ? Token::kAnd
                      : l == "or"  ? Token::kOr
                      : l == "not" ? Token::kNot
                                   : Token::kName;
      out.push_back({k, w, col});
      i = j;
    } else if (std::string("<>=!&|").find(c) != std::string::npos) {
      std::string two = s.substr(i, 2);
      static const char* kTwo[] = {"<=", ">=", "==", "!=", "<>", "&&", "||"};
      std::string op(1, c);
      for (const char* t : kTwo)
        if (two == t) op = two;
      i += op.size();
      if (op == "&&")
        out.push_back({Token::kAnd, op, col});
      else if (op == "||")
        out.push_back({Token::kOr, op, col});
      else if (op == "!")
        out.push_back({Token::kNot, op, col});
      else if (op == "&" || op == "|")
        fail(s, col, "unexpected '" + op + "' (use and / or)");
      else
        out.push_back({Token::kOp, op == "==" ? "=" : op == "<>" ? "!=" : op, col});
    } else {
      fail(s, col, "unexpected character '" + char_at(s, i) + "'");
    }
  }
  out.push_back({Token::kEnd, "end of expression", s.size() + 1});
  return out;
}

class Parser {
 public:
  Parser(const std::string& text) : text_(text), toks_(tokenize(text)) {}

  NodeP parse() {
    if (toks_.size() == 1) fail(text_, 1, "empty expression");
    NodeP e = parse_or();
    if (peek().kind != Token::kEnd) fail(text_, peek().col, "unexpected '" + peek().text + "'");
    return e;
  }

 private:
  const Token& peek() const { return toks_[pos_]; }
  const Token& next() { return toks_[pos_++]; }

  NodeP combine(Filter::Node::Kind kind, Token::Kind tk, NodeP (Parser::*sub)()) {
    NodeP first = (this->*sub)();
    if (peek().kind != tk) return first;
    auto n = std::make_shared<Filter::Node>();
    n->kind = kind;
    n->kids.push_back(first);
    while (peek().kind == tk) {
      next();
      n->kids.push_back((this->*sub)());
    }
    return n;
  }
  NodeP parse_or() { return combine(Filter::Node::kOr, Token::kOr, &Parser::parse_and); }
  NodeP parse_and() { return combine(Filter::Node::kAnd, Token::kAnd, &Parser::parse_not); }
  // Enters one more level of `(` or `not` at token t; refused past kMaxFilterDepth.
  void enter(const Token& t) {
    if (++depth_ > kMaxFilterDepth)
      fail(
          text_, t.col,
          "nested deeper than " + std::to_string(kMaxFilterDepth) + " levels of parentheses / not");
  }
  NodeP parse_not() {
    if (peek().kind != Token::kNot) return parse_primary();
    enter(next());
    auto n = std::make_shared<Filter::Node>();
    n->kind = Filter::Node::kNot;
    n->kids.push_back(parse_not());
    --depth_;
    return n;
  }
  NodeP parse_primary() {
    if (peek().kind == Token::kLParen) {
      enter(next());
      NodeP e = parse_or();
      if (peek().kind != Token::kRParen)
        fail(text_, peek().col, "expected ')', got '" + peek().text + "'");
      next();
      --depth_;
      return e;
    }
    if (++terms_ > kMaxFilterTerms)
      fail(text_, peek().col,
           "more than " + std::to_string(kMaxFilterTerms) + " comparisons in one expression");
    auto n = std::make_shared<Filter::Node>();
    n->kind = Filter::Node::kCmp;
    n->lhs = operand();
    if (peek().kind != Token::kOp)
      fail(text_, peek().col,
           "expected a comparison (< <= > >= = !=) after '" + toks_[pos_ - 1].text + "', got '" +
               peek().text + "'");
    n->op = next().text;
    n->rhs = operand();
    return n;
  }
  Filter::Node::Operand operand() {
    const Token& t = next();
    if (t.kind == Token::kName) return {true, t.text, 0};
    if (t.kind == Token::kNumber) return {false, "", t.number};
    fail(text_, t.col, "expected a name or a number, got '" + t.text + "'");
  }

  const std::string& text_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;  // `(` and `not` open
  int terms_ = 0;  // comparisons so far
};

void collect_names(const Filter::Node& n, std::vector<std::string>& out) {
  for (const auto& k : n.kids) collect_names(*k, out);
  if (n.kind == Filter::Node::kCmp) {
    if (n.lhs.is_name) out.push_back(n.lhs.name);
    if (n.rhs.is_name) out.push_back(n.rhs.name);
  }
}

// `first` > 0: PostgreSQL's numbered parameters from $first on; 0: SQLite's '?'.
void emit_sql(const Filter::Node& n, Filter::Sql& sql, int first) {
  auto operand = [&](const Filter::Node::Operand& o) {
    if (o.is_name) {
      sql.where += quote_identifier(o.name);
    } else {
      sql.where += first > 0 ? "$" + std::to_string(first + int(sql.params.size())) : "?";
      sql.params.push_back(o.number);
    }
  };
  switch (n.kind) {
    case Filter::Node::kCmp:
      operand(n.lhs);
      sql.where += " " + n.op + " ";
      operand(n.rhs);
      return;
    case Filter::Node::kNot:
      sql.where += "NOT (";
      emit_sql(*n.kids[0], sql, first);
      sql.where += ")";
      return;
    default:
      for (size_t i = 0; i < n.kids.size(); ++i) {
        if (i) sql.where += n.kind == Filter::Node::kAnd ? " AND " : " OR ";
        sql.where += "(";
        emit_sql(*n.kids[i], sql, first);
        sql.where += ")";
      }
  }
}

using Lookup = std::function<std::optional<double>(const std::string&)>;

// SQL's three-valued logic: nullopt is unknown.
std::optional<bool> eval(const Filter::Node& n, const Lookup& lookup) {
  switch (n.kind) {
    case Filter::Node::kCmp: {
      auto value = [&](const Filter::Node::Operand& o) -> std::optional<double> {
        return o.is_name ? lookup(o.name) : std::optional<double>(o.number);
      };
      const auto a = value(n.lhs), b = value(n.rhs);
      if (!a || !b) return std::nullopt;
      const std::string& op = n.op;
      if (op == "<") return *a < *b;
      if (op == "<=") return *a <= *b;
      if (op == ">") return *a > *b;
      if (op == ">=") return *a >= *b;
      if (op == "=") return *a == *b;
      return *a != *b;
    }
    case Filter::Node::kNot: {
      const auto v = eval(*n.kids[0], lookup);
      if (!v) return std::nullopt;
      return !*v;
    }
    default: {
      const bool is_and = n.kind == Filter::Node::kAnd;
      bool unknown = false;
      for (const auto& k : n.kids) {
        const auto v = eval(*k, lookup);
        if (!v)
          unknown = true;
        else if (*v != is_and)
          return !is_and;  // false in AND, true in OR decides
      }
      if (unknown) return std::nullopt;
      return is_and;
    }
  }
}

}  // namespace

Filter Filter::parse(const std::string& text) {
  Filter f;
  f.text_ = text;
  f.root_ = Parser(text).parse();
  return f;
}

std::vector<std::string> Filter::names() const {
  std::vector<std::string> out;
  collect_names(*root_, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Filter::check_names(const std::vector<std::string>& known) const {
  for (const auto& n : names()) {
    if (std::find(known.begin(), known.end(), n) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw StorageError(
        ErrorKind::kUsage, "",
        "unknown name '" + n + "' in " + key_ref("where") + " '" + text_ + "'; known: " + list);
  }
}

Filter::Sql Filter::to_sql(Dialect dialect, int first) const {
  Sql sql;
  emit_sql(*root_, sql, dialect == Dialect::kPostgres ? std::max(first, 1) : 0);
  return sql;
}

bool Filter::matches(const Lookup& lookup) const { return eval(*root_, lookup).value_or(false); }

}  // namespace autocompress
