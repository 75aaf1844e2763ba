#include "storage/pg_connection.hpp"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <pqxx/pqxx>
#include <thread>

namespace autocompress {
namespace {

// [begin, end) of the URI's authority (user:pw@host:port), or npos when there is no "://".
std::pair<size_t, size_t> authority(const std::string& uri) {
  const size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return {std::string::npos, std::string::npos};
  const size_t begin = scheme + 3;
  const size_t end = uri.find_first_of("/?#", begin);
  return {begin, end == std::string::npos ? uri.size() : end};
}

// The value of query parameter `key` and where it sits ([begin of "key=", end of value)).
std::optional<std::pair<size_t, size_t>> query_param(const std::string& uri,
                                                     const std::string& key) {
  const size_t q = uri.find('?');
  if (q == std::string::npos) return std::nullopt;
  for (size_t at = q + 1; at < uri.size();) {
    size_t end = uri.find('&', at);
    if (end == std::string::npos) end = uri.size();
    if (uri.compare(at, key.size() + 1, key + "=") == 0) return std::pair{at, end};
    at = end + 1;
  }
  return std::nullopt;
}

// The passwords a message must never show: the URI's and PGPASSWORD.
std::vector<std::string> secrets(const std::string& uri) {
  std::vector<std::string> out;
  const auto [b, e] = authority(uri);
  if (b != std::string::npos) {
    const size_t at = uri.rfind('@', e);
    if (at != std::string::npos && at >= b) {
      const size_t colon = uri.find(':', b);
      if (colon < at) out.push_back(uri.substr(colon + 1, at - colon - 1));
    }
  }
  if (auto p = query_param(uri, "password"))
    out.push_back(uri.substr(p->first + 9, p->second - p->first - 9));
  if (const char* env = std::getenv("PGPASSWORD")) out.push_back(env);
  std::erase_if(out, [](const std::string& s) { return s.empty(); });
  return out;
}

bool is_transient_state(const std::string& s) {
  return s == "40001" || s == "40P01" || s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" ||
         s == "57P03" || s == "55P03";
}

}  // namespace

bool is_postgres_uri(const std::string& db) {
  return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0;
}

std::string redact_uri(const std::string& uri) {
  std::string out = uri;
  if (auto p = query_param(out, "password")) {
    const size_t from = out[p->first - 1] == '&' ? p->first - 1 : p->first;
    const size_t to =
        out[p->first - 1] == '&' || p->second == out.size() ? p->second : p->second + 1;
    out.erase(from, to - from);
    if (!out.empty() && out.back() == '?') out.pop_back();
  }
  const auto [b, e] = authority(out);
  if (b == std::string::npos) return out;
  const size_t at = out.rfind('@', e);
  if (at == std::string::npos || at < b) return out;
  const size_t colon = out.find(':', b);
  if (colon < at) out.erase(colon, at - colon);
  return out;
}

PgParams& PgParams::add(double v) {
  if (std::isnan(v)) return null();
  if (std::isinf(v)) return text(v > 0 ? "Infinity" : "-Infinity");
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest, round-trips exactly
  return text(std::string(buf, r.ptr));
}

bool PgRow::null(int c) const { return r_[c].is_null(); }

double PgRow::real(int c) const {
  if (null(c)) return NAN;
  const char* s = r_[c].c_str();
  const size_t n = r_[c].size();
  if (std::string_view(s, n) == "Infinity") return INFINITY;
  if (std::string_view(s, n) == "-Infinity") return -INFINITY;
  double v = NAN;
  std::from_chars(s, s + n, v);
  return v;
}

int64_t PgRow::integer(int c) const {
  const char* s = r_[c].c_str();
  int64_t v = 0;
  std::from_chars(s, s + r_[c].size(), v);
  return v;
}

std::string PgRow::text(int c) const {
  return null(c) ? std::string() : std::string(r_[c].c_str(), r_[c].size());
}

size_t PgTx::each(const std::string& sql, const PgParams& p,
                  const std::function<void(const PgRow&)>& row) {
  std::vector<const char*> args;
  for (const auto& v : p.values()) args.push_back(v ? v->c_str() : nullptr);
  const pqxx::result r = t_.exec_params(sql, pqxx::prepare::make_dynamic_params(args));
  if (row)
    for (const auto& x : r) row(PgRow(x));
  return r.columns() == 0 ? size_t(r.affected_rows()) : r.size();
}

void PgTx::script(const std::string& sql) { t_.exec(sql); }

size_t PgTx::exec(const std::string& sql, const PgParams& p) { return each(sql, p, nullptr); }

std::optional<int64_t> PgTx::integer(const std::string& sql, const PgParams& p) {
  std::optional<int64_t> out;
  each(sql, p, [&](const PgRow& r) {
    if (!out) out = r.null(0) ? 0 : r.integer(0);
  });
  return out;
}

PgConnection::PgConnection(const std::string& uri, PgOptions options)
    : uri_(uri), where_(redact_uri(uri)), opt_(options) {
  try {
    connect();
  } catch (const StorageError&) {
    throw;
  } catch (const std::exception& e) {
    fail(e, "cannot connect");
  }
}

PgConnection::~PgConnection() = default;

void PgConnection::connect() {
  conn_.reset();
  conn_ = std::make_unique<pqxx::connection>(uri_);
}

std::string PgConnection::scrub(const std::string& message) const {
  std::string out = message;
  for (const auto& s : secrets(uri_))
    for (size_t at; (at = out.find(s)) != std::string::npos;) out.replace(at, s.size(), "***");
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (auto& ch : out)
    if (ch == '\n') ch = ' ';
  return out;
}

void PgConnection::fail(const std::exception& e, const std::string& what) const {
  const std::string msg = scrub(e.what());
  ErrorKind kind = ErrorKind::kIo;
  if (!dynamic_cast<const pqxx::broken_connection*>(&e) &&
      !dynamic_cast<const pqxx::sql_error*>(&e))
    kind = ErrorKind::kRuntime;
  if (msg.find("invalid URI") != std::string::npos ||
      msg.find("invalid connection option") != std::string::npos ||
      msg.find("invalid integer value") != std::string::npos ||
      msg.find("missing \"=\"") != std::string::npos || msg.find("invalid") == 0)
    kind = ErrorKind::kUsage;
  throw StorageError(kind, where_, (what.empty() ? "" : what + ": ") + msg);
}

void PgConnection::retry_or_throw(const std::exception& e, int attempt, double started) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  const bool dropped = dynamic_cast<const pqxx::broken_connection*>(&e) ||
                       dynamic_cast<const pqxx::in_doubt_error*>(&e) ||
                       (sql && sql->sqlstate().rfind("08", 0) == 0) ||
                       (sql && sql->sqlstate().rfind("57P0", 0) == 0);
  const bool transient = dropped || dynamic_cast<const pqxx::transaction_rollback*>(&e) ||
                         (sql && is_transient_state(sql->sqlstate())) ||
                         // A concurrent insert of the same unique key (two workers creating one
                         // study): the next attempt sees the other's row.
                         (sql && sql->sqlstate() == "23505" && attempt < 5);
  if (!transient) fail(e, "");
  if (dropped) conn_.reset();
  if (unix_now() - started > opt_.retry_budget_s)
    throw StorageError(ErrorKind::kRuntime, where_,
                       "gave up after " + std::to_string(int(opt_.retry_budget_s)) +
                           " s of retries: " + scrub(e.what()));
  const double base = std::min(dropped ? 2.0 : 0.5, 0.002 * std::pow(2.0, std::min(attempt, 20)));
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  std::this_thread::sleep_for(std::chrono::duration<double>(base * jitter(rng_)));
}

std::unique_ptr<pqxx::transaction_base> PgConnection::begin(bool write) {
  if (write) return std::make_unique<pqxx::work>(*conn_);
  return std::make_unique<pqxx::read_transaction>(*conn_);
}

void PgConnection::commit(pqxx::transaction_base& t) { t.commit(); }

}  // namespace autocompress
