#include "storage/sqlite_trials.hpp"

#include <variant>

#include "storage/sqlite_open.hpp"
#include "storage/trial_rows.hpp"

namespace autocompress {
namespace {

using Query = SqliteConnection::Query;

// The trial_id of a RUNNING trial; throws if missing or finished.
int64_t running_trial(SqliteConnection& c, int64_t study_id, int64_t number) {
  Query q(c, "SELECT trial_id, state FROM trials WHERE study_id = ? AND number = ?");
  q.bind(1, study_id).bind(2, number);
  if (!q.step())
    throw StorageError(
        ErrorKind::kUsage, c.path,
        "study id " + std::to_string(study_id) + " has no trial " + std::to_string(number));
  if (q.text(1) != "RUNNING")
    throw StorageError(ErrorKind::kData, c.path,
                       "trial " + std::to_string(number) + " is " + q.text(1) +
                           "; only RUNNING trials can change");
  return q.integer(0);
}

int64_t next_number(SqliteConnection& c, int64_t study_id) {
  Query q(c,
          "SELECT COALESCE((SELECT number FROM trials WHERE study_id = ?1 ORDER BY number DESC "
          "LIMIT 1) + 1, 0)");
  q.bind(1, study_id);
  q.step();
  return q.integer(0);
}

// A RUNNING trial whose heartbeat and lease ran out.
struct StaleTrial {
  int64_t trial_id, study_id, number;
  std::string reason;
  bool requeued;
};

std::vector<StaleTrial> find_stale(SqliteConnection& c, double grace, double now) {
  std::vector<StaleTrial> stale;
  Query q(c,
          "SELECT trial_id, study_id, number, worker, requeued_from IS NOT NULL, "
          "heartbeat_at, COALESCE(lease_until, 0) FROM trials WHERE state = 'RUNNING' AND "
          "heartbeat_at < ? AND (lease_until IS NULL OR lease_until <= ?)");
  q.bind(1, now - grace).bind(2, now);
  while (q.step()) {
    FrozenTrial t;
    t.worker = q.text(3);
    t.heartbeat_at = q.time(5);
    t.lease_until = q.time(6);
    stale.push_back(
        {q.integer(0), q.integer(1), q.integer(2), stale_reason(t, grace), q.integer(4) != 0});
  }
  return stale;
}

// A WAITING copy of a failed stale trial, with its parameters, at the end of its study.
void requeue(SqliteConnection& c, const StaleTrial& s) {
  int64_t new_id;
  {
    Query i(c,
            "INSERT INTO trials (study_id, number, state, requeued_from) "
            "VALUES (?, ?, 'WAITING', ?) RETURNING trial_id");
    i.bind(1, s.study_id).bind(2, next_number(c, s.study_id)).bind(3, s.number);
    i.step();
    new_id = i.integer(0);
    i.run();
  }
  Query p(c,
          "INSERT INTO trial_params (trial_id, name, num, text) "
          "SELECT ?, name, num, text FROM trial_params WHERE trial_id = ?");
  p.bind(1, new_id).bind(2, s.trial_id).run();
}

// The first WAITING trial of the study made RUNNING for `worker`: its number, or -1 if none.
int64_t claim_waiting(SqliteConnection& c, int64_t study_id, const std::string& worker,
                      double now) {
  int64_t trial_id = -1, number = -1;
  {
    Query w(c,
            "SELECT trial_id, number FROM trials WHERE study_id = ? AND state = 'WAITING' "
            "ORDER BY number LIMIT 1");
    w.bind(1, study_id);
    if (w.step()) trial_id = w.integer(0), number = w.integer(1);
  }
  if (trial_id < 0) return -1;
  Query u(c,
          "UPDATE trials SET state = 'RUNNING', worker = ?, started_at = ?, "
          "heartbeat_at = ?, lease_until = NULL WHERE trial_id = ?");
  u.bind(1, worker).bind(2, now).bind(3, now).bind(4, trial_id).run();
  return number;
}

// A new RUNNING trial at the end of the study: its number.
int64_t insert_running(SqliteConnection& c, int64_t study_id, const std::string& worker,
                       double now) {
  {
    Query s(c, "SELECT 1 FROM studies WHERE study_id = ?");
    s.bind(1, study_id);
    if (!s.step())
      throw StorageError(ErrorKind::kUsage, c.path, "unknown study id " + std::to_string(study_id));
  }
  Query i(c,
          "INSERT INTO trials (study_id, number, state, worker, started_at, heartbeat_at) "
          "VALUES (?1, COALESCE((SELECT number FROM trials WHERE study_id = ?1 ORDER BY "
          "number DESC LIMIT 1) + 1, 0), 'RUNNING', ?2, ?3, ?3) RETURNING trial_id, number");
  i.bind(1, study_id).bind(2, worker).bind(3, now);
  i.step();
  const int64_t number = i.integer(1);
  i.run();
  return number;
}

// The SELECT of a listing and its parameters in binding order.
struct TrialsSelect {
  std::string sql;
  std::vector<std::variant<int64_t, double, std::string>> params;
};

TrialsSelect trials_select(int version, int64_t study_id, const Filter* where,
                           const int64_t* number, const SqliteTrials::Since* since) {
  TrialsSelect s;
  s.sql = std::string(
              "SELECT trial_id, number, state, worker, started_at, finished_at, "
              "heartbeat_at, error, requeued_from, ") +
          (version >= 2 ? "lease_until" : "NULL") + " FROM trials WHERE study_id = ?";
  s.params.push_back(study_id);
  if (number) {
    s.sql += " AND number = ?";
    s.params.push_back(*number);
  }
  // The numbers as one JSON array bound to one parameter: a single cached statement whatever
  // their count. One IN list rather than an OR, which would scan every trial of the study.
  if (since) {
    s.sql +=
        " AND number IN (SELECT number FROM trials WHERE study_id = ?1 AND number >= ? "
        "UNION ALL SELECT value FROM json_each(?))";
    std::string also;
    for (int64_t n : since->also) {
      also += also.empty() ? '[' : ',';
      also += std::to_string(n);
    }
    also += also.empty() ? "[]" : "]";
    s.params.push_back(since->from);
    s.params.push_back(also);
  }
  if (where) {
    const Filter::Sql f = where->to_sql();
    s.sql += " AND trial_id IN (SELECT trial_id FROM trials_flat WHERE study_id = ? AND (" +
             f.where + "))";
    s.params.push_back(study_id);
    for (double v : f.params) s.params.push_back(v);
  }
  s.sql += " ORDER BY number";
  return s;
}

// The trials the SELECT lists, without their child rows; index: trial_id -> position.
std::vector<FrozenTrial> read_trials(SqliteConnection& c, const TrialsSelect& select, bool cached,
                                     int64_t study_id, std::unordered_map<int64_t, size_t>& index) {
  std::vector<FrozenTrial> out;
  Query q(c, select.sql, cached);
  int b = 1;
  for (const auto& p : select.params) std::visit([&](const auto& v) { q.bind(b++, v); }, p);
  while (q.step()) {
    index[q.integer(0)] = out.size();
    out.push_back(trial_from_row(q, study_id));
  }
  return out;
}

// Params, values, metrics, constraints and attributes of the trials in `index` (of one trial
// when `one` is given, else of the study's).
void load_children(SqliteConnection& c, int64_t study_id, const int64_t* one,
                   std::vector<FrozenTrial>& out,
                   const std::unordered_map<int64_t, size_t>& index) {
  auto each = [&](const char* table, const char* cols, auto&& add) {
    std::string sql = std::string("SELECT c.trial_id, ") + cols + " FROM " + table + " c";
    sql += one ? " WHERE c.trial_id = ?"
               : " JOIN trials t ON t.trial_id = c.trial_id WHERE t.study_id = ?";
    // No ORDER BY (a sort of every row): rows are placed by index; params sorted below.
    Query q(c, sql);
    q.bind(1, one ? *one : study_id);
    while (q.step()) {
      auto it = index.find(q.integer(0));
      if (it != index.end()) add(out[it->second], q);
    }
  };
  each("trial_params", "c.name, c.num, c.text", add_param_row<Query>);
  each("trial_values", "c.idx, c.value", add_value_row<Query>);
  each("trial_metrics", "c.name, c.value", add_metric_row<Query>);
  each("trial_constraints", "c.idx, c.value", add_constraint_row<Query>);
  each("trial_user_attrs", "c.key, c.value", add_user_attr_row<Query>);
  for (const auto& [id, i] : index) sort_params(out[i]);
}

}  // namespace

int SqliteTrials::fail_stale(double grace) {
  return c_.transaction(true, [&] { return fail_stale_locked(grace); });
}

int SqliteTrials::fail_stale_locked(double grace) {
  const double now = unix_now();
  last_stale_check_ = now;
  const std::vector<StaleTrial> stale = find_stale(c_, grace, now);
  for (const auto& s : stale) {
    Query u(c_, "UPDATE trials SET state = 'FAIL', finished_at = ?, error = ? WHERE trial_id = ?");
    u.bind(1, now).bind(2, s.reason);
    u.bind(3, s.trial_id).run();
    if (!s.requeued) requeue(c_, s);  // re-queued once only
  }
  return int(stale.size());
}

FrozenTrial SqliteTrials::ask(int64_t study_id, const std::string& worker) {
  return c_.transaction(true, [&] {
    const double now = unix_now();
    if (now - last_stale_check_ >= c_.opt.stale_check_interval_s)
      fail_stale_locked(c_.opt.stale_grace_s);
    int64_t number = claim_waiting(c_, study_id, worker, now);
    if (number < 0) number = insert_running(c_, study_id, worker, now);
    auto t = load(study_id, nullptr, &number);
    return t.at(0);
  });
}

void SqliteTrials::write_result(int64_t study_id, int64_t id, const TrialResult& r,
                                std::vector<std::string>& added) {
  auto& known = known_metrics_[study_id];
  const auto indexed = [&](const std::string& table, const std::vector<double>& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      Query q(c_, "INSERT INTO " + table + " (trial_id, idx, value) VALUES (?, ?, ?)");
      q.bind(1, id).bind(2, int64_t(i)).bind(3, list[i]).run();
    }
  };
  indexed("trial_values", r.values);
  indexed("trial_constraints", r.constraints);
  for (const auto& [name, v] : r.metrics) {
    Query q(c_, "INSERT INTO trial_metrics (trial_id, name, value) VALUES (?, ?, ?)");
    q.bind(1, id).bind(2, name).bind(3, v).run();
    if (!known.count(name)) added.push_back(name);
  }
  for (const auto& [k, v] : r.user_attrs) {
    Query q(c_, "INSERT OR REPLACE INTO trial_user_attrs (trial_id, key, value) VALUES (?, ?, ?)");
    q.bind(1, id).bind(2, k).bind(3, v).run();
  }
  bool new_names = false;
  for (const auto& name : added) {
    Query q(c_, "INSERT OR IGNORE INTO study_metrics (study_id, name) VALUES (?, ?)");
    q.bind(1, study_id).bind(2, name).run();
    new_names |= sqlite3_changes(c_.db) > 0;
  }
  if (new_names) rebuild_flat_view(c_);  // new columns appear with the first trial that has them
}

void SqliteTrials::tell(int64_t study_id, int64_t number, const TrialResult& r) {
  std::vector<std::string> added;
  c_.transaction(true, [&] {
    added.clear();
    const int64_t id = running_trial(c_, study_id, number);
    write_result(study_id, id, r, added);
    Query u(c_, "UPDATE trials SET state = ?, finished_at = ?, error = ? WHERE trial_id = ?");
    u.bind(1, std::string(to_string(r.state))).bind(2, unix_now()).bind(3, r.error);
    u.bind(4, id).run();
  });
  known_metrics_[study_id].insert(added.begin(), added.end());  // committed
}

void SqliteTrials::import(int64_t study_id, const FrozenTrial& t) {
  Query i(c_,
          "INSERT INTO trials (study_id, number, state, worker, started_at, finished_at, "
          "heartbeat_at, error, requeued_from, lease_until) "
          "VALUES (?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?) RETURNING trial_id");
  i.bind(1, study_id).bind(2, t.number).bind(3, t.worker).bind_time(4, t.started_at);
  i.bind_time(5, t.finished_at).bind_time(6, t.heartbeat_at).bind(7, t.error);
  if (t.requeued_from)
    i.bind(8, *t.requeued_from);
  else
    i.bind_null(8);
  i.bind_time(9, t.lease_until);
  i.step();
  const int64_t id = i.integer(0);
  i.run();
  set_params(study_id, t.number, t.params);
  std::vector<std::string> added;  // the study is new: known_metrics_ learns them on next tell
  write_result(study_id, id, {t.state, t.values, t.metrics, t.constraints, t.error, t.user_attrs},
               added);
  Query u(c_, "UPDATE trials SET state = ? WHERE trial_id = ?");
  u.bind(1, std::string(to_string(t.state))).bind(2, id).run();
}

void SqliteTrials::set_params(int64_t study_id, int64_t number, const std::vector<Param>& params) {
  const int64_t id = running_trial(c_, study_id, number);
  Query d(c_, "DELETE FROM trial_params WHERE trial_id = ?");
  d.bind(1, id).run();
  for (const auto& p : params) {
    Query q(c_, "INSERT INTO trial_params (trial_id, name, num, text) VALUES (?, ?, ?, ?)");
    q.bind(1, id).bind(2, p.name);
    if (const double* v = std::get_if<double>(&p.value))
      q.bind(3, *v).bind_null(4);
    else
      q.bind_null(3).bind(4, std::get<std::string>(p.value));
    q.run();
  }
}

void SqliteTrials::heartbeat(int64_t study_id, int64_t number) {
  const int64_t id = running_trial(c_, study_id, number);
  Query q(c_, "UPDATE trials SET heartbeat_at = ? WHERE trial_id = ?");
  q.bind(1, unix_now()).bind(2, id).run();
}

void SqliteTrials::lease(int64_t study_id, int64_t number, double seconds) {
  const int64_t id = running_trial(c_, study_id, number);
  const double now = unix_now();
  Query q(c_, "UPDATE trials SET heartbeat_at = ?, lease_until = ? WHERE trial_id = ?");
  q.bind(1, now).bind_time(2, seconds > 0 ? now + seconds : 0).bind(3, id).run();
}

std::vector<FrozenTrial> SqliteTrials::load(int64_t study_id, const Filter* where,
                                            const int64_t* number, const Since* since) {
  std::unordered_map<int64_t, size_t> index;
  std::vector<FrozenTrial> out = read_trials(
      c_, trials_select(version, study_id, where, number, since), !where, study_id, index);
  if (out.empty()) return out;
  if (where || number) {
    load_children(c_, study_id, out.size() == 1 ? &index.begin()->first : nullptr, out, index);
    return out;
  }
  // Finished trials never change (the contract): a listing copies the ones read before and
  // reads child rows only for the others, one trial at a time when they are few (the study loop
  // lists the study before every proposal).
  const std::unordered_map<int64_t, size_t> todo = finished_.fill(out, index);
  if (todo.size() > 32) {
    load_children(c_, study_id, nullptr, out, todo);
  } else {
    for (const auto& [id, i] : todo) load_children(c_, study_id, &id, out, {{id, i}});
  }
  finished_.keep(out, todo);
  return out;
}

}  // namespace autocompress
