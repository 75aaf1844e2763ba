#include "storage/pg_trials.hpp"

#include "storage/pg_schema.hpp"
#include "storage/trial_rows.hpp"

namespace autocompress {
namespace {

// The trial_id of a RUNNING trial, locked until the transaction ends; throws if missing or
// finished.
int64_t running_trial(PgConnection& c, PgTx& tx, int64_t study_id, int64_t number) {
  int64_t id = -1;
  std::string state;
  tx.each("SELECT trial_id, state FROM trials WHERE study_id = $1 AND number = $2 FOR UPDATE",
          pg_params(study_id, number), [&](const PgRow& r) {
            id = r.integer(0);
            state = r.text(1);
          });
  if (id < 0)
    throw StorageError(
        ErrorKind::kUsage, c.where(),
        "study id " + std::to_string(study_id) + " has no trial " + std::to_string(number));
  if (state != "RUNNING")
    throw StorageError(
        ErrorKind::kData, c.where(),
        "trial " + std::to_string(number) + " is " + state + "; only RUNNING trials can change");
  return id;
}

// Locks the study's row against other number choosers (not against foreign-key checks).
void lock_study(PgConnection& c, PgTx& tx, int64_t study_id) {
  if (!tx.integer("SELECT study_id FROM studies WHERE study_id = $1 FOR NO KEY UPDATE",
                  pg_params(study_id)))
    throw StorageError(ErrorKind::kUsage, c.where(),
                       "unknown study id " + std::to_string(study_id));
}

// A trials row as trial_from_row reads it.
const char* const kTrialColumns =
    "trial_id, number, state, worker, started_at, finished_at, heartbeat_at, error, "
    "requeued_from, lease_until";

const char* const kNextNumber =
    "(SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = $1)";

struct StaleTrial {
  int64_t trial_id, study_id, number;
  std::string reason;
  bool requeued;
};

// The stale RUNNING trials nobody else holds, locked.
std::vector<StaleTrial> find_stale(PgTx& tx, double grace, double now) {
  std::vector<StaleTrial> stale;
  tx.each(
      "SELECT trial_id, study_id, number, worker, requeued_from IS NOT NULL, heartbeat_at, "
      "lease_until FROM trials WHERE state = 'RUNNING' AND heartbeat_at < $1 AND "
      "(lease_until IS NULL OR lease_until <= $2) ORDER BY trial_id FOR UPDATE SKIP LOCKED",
      pg_params(now - grace, now), [&](const PgRow& r) {
        FrozenTrial t;
        t.worker = r.text(3);
        t.heartbeat_at = r.time(5);
        t.lease_until = r.time(6);
        stale.push_back(
            {r.integer(0), r.integer(1), r.integer(2), stale_reason(t, grace), r.text(4) == "t"});
      });
  return stale;
}

void requeue(PgConnection& c, PgTx& tx, const StaleTrial& s) {
  lock_study(c, tx, s.study_id);
  const auto id = tx.integer(std::string("INSERT INTO trials (study_id, number, state, "
                                         "requeued_from) VALUES ($1, ") +
                                 kNextNumber + ", 'WAITING', $2) RETURNING trial_id",
                             pg_params(s.study_id, s.number));
  tx.exec(
      "INSERT INTO trial_params (trial_id, name, num, text) "
      "SELECT $1, name, num, text FROM trial_params WHERE trial_id = $2",
      pg_params(*id, s.trial_id));
}

// The SELECT of a listing and its parameters.
std::pair<std::string, PgParams> trials_select(int64_t study_id, const Filter* where,
                                               const int64_t* number,
                                               const PgTrials::Since* since) {
  std::string sql = std::string("SELECT ") + kTrialColumns + " FROM trials WHERE study_id = $1";
  PgParams p = pg_params(study_id);
  if (number) {
    sql += " AND number = $2";
    p.add(*number);
  }
  if (since) {
    std::string also = "{";
    for (int64_t n : since->also) {
      if (also.size() > 1) also += ',';
      also += std::to_string(n);
    }
    sql += " AND (number >= $2 OR number = ANY($3::bigint[]))";
    p.add(since->from).add(also + "}");
  }
  if (where) {
    const int first = int(p.values().size()) + 1;
    const Filter::Sql f = where->to_sql(Filter::Dialect::kPostgres, first);
    sql += " AND trial_id IN (SELECT trial_id FROM trials_flat WHERE study_id = $1 AND (" +
           f.where + "))";
    for (double v : f.params) p.add(v);
  }
  return {sql + " ORDER BY number", p};
}

// Child rows of the trials in `index` (of one trial when `one` is given, else of the study's).
void load_children(PgTx& tx, int64_t study_id, const int64_t* one, std::vector<FrozenTrial>& out,
                   const std::unordered_map<int64_t, size_t>& index) {
  auto each = [&](const char* table, const char* cols, auto&& add) {
    std::string sql = std::string("SELECT c.trial_id, ") + cols + " FROM " + table + " c";
    sql += one ? " WHERE c.trial_id = $1"
               : " JOIN trials t ON t.trial_id = c.trial_id WHERE t.study_id = $1";
    tx.each(sql, pg_params(one ? *one : study_id), [&](const PgRow& r) {
      auto it = index.find(r.integer(0));
      if (it != index.end()) add(out[it->second], r);
    });
  };
  each("trial_params", "c.name, c.num, c.text", add_param_row<PgRow>);
  each("trial_values", "c.idx, c.value", add_value_row<PgRow>);
  each("trial_metrics", "c.name, c.value", add_metric_row<PgRow>);
  each("trial_constraints", "c.idx, c.value", add_constraint_row<PgRow>);
  each("trial_user_attrs", "c.key, c.value", add_user_attr_row<PgRow>);
  for (const auto& [id, i] : index) sort_params(out[i]);
}

// One INSERT of p's values as rows of `cols` columns: one round trip for all the rows, which is
// most of what recording a trial costs on a server (nothing when p is empty).
void insert_rows(PgTx& tx, const std::string& into, int cols, const PgParams& p,
                 const char* suffix = "") {
  const size_t n = p.values().size();
  if (n == 0) return;
  std::string sql = "INSERT INTO " + into + " VALUES ";
  for (size_t i = 0; i < n; ++i) {
    sql += i % size_t(cols) == 0 ? (i ? "), ($" : "($") : ", $";
    sql += std::to_string(i + 1);
  }
  tx.exec(sql + ")" + suffix, p);
}

void insert_indexed(PgTx& tx, const char* table, int64_t id, const std::vector<double>& list) {
  PgParams p;
  for (size_t i = 0; i < list.size(); ++i) p.add(id).add(int64_t(i)).add(list[i]);
  insert_rows(tx, std::string(table) + " (trial_id, idx, value)", 3, p);
}

}  // namespace

int PgTrials::fail_stale(PgTx& tx, double grace) {
  const double now = unix_now();
  const std::vector<StaleTrial> stale = find_stale(tx, grace, now);
  for (const auto& s : stale) {
    tx.exec("UPDATE trials SET state = 'FAIL', finished_at = $1, error = $2 WHERE trial_id = $3",
            pg_params(now, s.reason, s.trial_id));
    if (!s.requeued) requeue(c_, tx, s);  // re-queued once only
  }
  return int(stale.size());
}

FrozenTrial PgTrials::ask(PgTx& tx, int64_t study_id, const std::string& worker) {
  const double now = unix_now();
  int64_t trial_id = -1, number = -1;
  tx.each(
      "SELECT trial_id, number FROM trials WHERE study_id = $1 AND state = 'WAITING' "
      "ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED",
      pg_params(study_id), [&](const PgRow& r) {
        trial_id = r.integer(0);
        number = r.integer(1);
      });
  if (trial_id >= 0) {
    tx.exec(
        "UPDATE trials SET state = 'RUNNING', worker = $1, started_at = $2, heartbeat_at = $2, "
        "lease_until = NULL WHERE trial_id = $3",
        pg_params(worker, now, trial_id));
    return load(tx, study_id, nullptr, &number).at(0);  // with the params it repeats
  }
  lock_study(c_, tx, study_id);
  FrozenTrial t;  // new: no child rows to read
  tx.each(std::string("INSERT INTO trials (study_id, number, state, worker, started_at, "
                      "heartbeat_at) VALUES ($1, ") +
              kNextNumber + ", 'RUNNING', $2, $3, $3) RETURNING " + kTrialColumns,
          pg_params(study_id, worker, now),
          [&](const PgRow& r) { t = trial_from_row(r, study_id); });
  return t;
}

std::vector<std::string> PgTrials::tell(PgTx& tx, int64_t study_id, int64_t number,
                                        const TrialResult& r) {
  const int64_t id = running_trial(c_, tx, study_id, number);
  insert_indexed(tx, "trial_values", id, r.values);
  insert_indexed(tx, "trial_constraints", id, r.constraints);
  const auto& known = known_metrics[study_id];
  std::vector<std::string> added;
  PgParams metrics, attrs;
  for (const auto& [name, v] : r.metrics) {
    metrics.add(id).add(name).add(v);
    if (!known.count(name)) added.push_back(name);
  }
  insert_rows(tx, "trial_metrics (trial_id, name, value)", 3, metrics);
  for (const auto& [k, v] : r.user_attrs) attrs.add(id).add(k).add(v);
  insert_rows(tx, "trial_user_attrs (trial_id, key, value)", 3, attrs,
              " ON CONFLICT (trial_id, key) DO UPDATE SET value = EXCLUDED.value");
  bool new_names = false;
  for (const auto& name : added)
    new_names |= tx.exec(
                     "INSERT INTO study_metrics (study_id, name) VALUES ($1, $2) "
                     "ON CONFLICT DO NOTHING RETURNING name",
                     pg_params(study_id, name)) > 0;
  if (new_names) rebuild_pg_flat_view(tx);  // new columns appear with the first trial having them
  tx.exec("UPDATE trials SET state = $1, finished_at = $2, error = $3 WHERE trial_id = $4",
          pg_params(to_string(r.state), unix_now(), r.error, id));
  return added;
}

void PgTrials::import(PgTx& tx, int64_t study_id, const FrozenTrial& t) {
  const auto id = *tx.integer(
      "INSERT INTO trials (study_id, number, state) VALUES ($1, $2, 'RUNNING') RETURNING trial_id",
      pg_params(study_id, t.number));
  set_params(tx, study_id, t.number, t.params);
  tell(tx, study_id, t.number,
       {t.state, t.values, t.metrics, t.constraints, t.error, t.user_attrs});
  PgParams p = pg_params(to_string(t.state), t.worker);
  p.time(t.started_at).time(t.finished_at).time(t.heartbeat_at).add(t.error);
  if (t.requeued_from)
    p.add(*t.requeued_from);
  else
    p.null();
  p.time(t.lease_until).add(id);
  tx.exec(
      "UPDATE trials SET state = $1, worker = $2, started_at = $3, finished_at = $4, "
      "heartbeat_at = $5, error = $6, requeued_from = $7, lease_until = $8 WHERE trial_id = $9",
      p);
}

void PgTrials::set_params(PgTx& tx, int64_t study_id, int64_t number,
                          const std::vector<Param>& params) {
  const int64_t id = running_trial(c_, tx, study_id, number);
  tx.exec("DELETE FROM trial_params WHERE trial_id = $1", pg_params(id));
  PgParams q;
  for (const auto& p : params) {
    q.add(id).add(p.name);
    if (const double* v = std::get_if<double>(&p.value))
      q.add(*v).null();
    else
      q.null().add(std::get<std::string>(p.value));
  }
  insert_rows(tx, "trial_params (trial_id, name, num, text)", 4, q);
}

void PgTrials::heartbeat(PgTx& tx, int64_t study_id, int64_t number) {
  const int64_t id = running_trial(c_, tx, study_id, number);
  tx.exec("UPDATE trials SET heartbeat_at = $1 WHERE trial_id = $2", pg_params(unix_now(), id));
}

void PgTrials::lease(PgTx& tx, int64_t study_id, int64_t number, double seconds) {
  const int64_t id = running_trial(c_, tx, study_id, number);
  const double now = unix_now();
  PgParams p = pg_params(now);
  p.time(seconds > 0 ? now + seconds : 0).add(id);
  tx.exec("UPDATE trials SET heartbeat_at = $1, lease_until = $2 WHERE trial_id = $3", p);
}

std::vector<FrozenTrial> PgTrials::load(PgTx& tx, int64_t study_id, const Filter* where,
                                        const int64_t* number, const Since* since) {
  std::unordered_map<int64_t, size_t> index;
  std::vector<FrozenTrial> out;
  const auto [sql, params] = trials_select(study_id, where, number, since);
  tx.each(sql, params, [&](const PgRow& r) {
    index[r.integer(0)] = out.size();
    out.push_back(trial_from_row(r, study_id));
  });
  if (out.empty()) return out;
  if (where || number) {
    load_children(tx, study_id, out.size() == 1 ? &index.begin()->first : nullptr, out, index);
    return out;
  }
  const std::unordered_map<int64_t, size_t> todo = finished.fill(out, index);
  if (todo.size() > 32) {
    load_children(tx, study_id, nullptr, out, todo);
  } else {
    for (const auto& [id, i] : todo) load_children(tx, study_id, &id, out, {{id, i}});
  }
  finished.keep(out, todo);
  return out;
}

}  // namespace autocompress
