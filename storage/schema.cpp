#include "storage/schema.hpp"

#include <algorithm>
#include <set>

#include "storage/filter.hpp"

namespace autocompress {

namespace {

// Version 1. Times are Unix seconds (REAL). Child rows of a trial are keyed by trial_id and
// WITHOUT ROWID so that a trial's rows sit together in the b-tree.
const char* const kV1 = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE studies (
  study_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  model_sha256 TEXT NOT NULL, model_path TEXT NOT NULL,
  dataset TEXT NOT NULL, split TEXT NOT NULL, target TEXT NOT NULL,
  reference_point TEXT NOT NULL,          -- JSON array
  search_space TEXT NOT NULL, sampler TEXT NOT NULL, sampler_settings TEXT NOT NULL,
  tool_version TEXT NOT NULL, onednn_version TEXT NOT NULL, cpu_model TEXT NOT NULL,
  isa TEXT NOT NULL, threads INTEGER NOT NULL,
  created_at REAL NOT NULL);
CREATE TABLE study_objectives (
  study_id INTEGER NOT NULL REFERENCES studies, idx INTEGER NOT NULL,
  name TEXT NOT NULL, direction TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),
  PRIMARY KEY (study_id, idx)) WITHOUT ROWID;
CREATE TABLE study_constraints (
  study_id INTEGER NOT NULL REFERENCES studies, idx INTEGER NOT NULL, name TEXT NOT NULL,
  PRIMARY KEY (study_id, idx)) WITHOUT ROWID;
CREATE TABLE study_metrics (
  study_id INTEGER NOT NULL REFERENCES studies, name TEXT NOT NULL,
  PRIMARY KEY (study_id, name)) WITHOUT ROWID;
CREATE TABLE study_user_attrs (
  study_id INTEGER NOT NULL REFERENCES studies, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (study_id, key)) WITHOUT ROWID;
CREATE TABLE trials (
  trial_id INTEGER PRIMARY KEY,
  study_id INTEGER NOT NULL REFERENCES studies,
  number INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING')),
  worker TEXT NOT NULL DEFAULT '',
  started_at REAL, finished_at REAL, heartbeat_at REAL,
  error TEXT NOT NULL DEFAULT '',
  requeued_from INTEGER,
  UNIQUE (study_id, number));
CREATE INDEX trials_by_state ON trials (study_id, state, number);  -- WAITING queue
CREATE INDEX trials_running ON trials (state, heartbeat_at);     -- stale RUNNING trials
CREATE TABLE trial_params (
  trial_id INTEGER NOT NULL REFERENCES trials, name TEXT NOT NULL,
  num REAL, text TEXT,                    -- exactly one is set
  PRIMARY KEY (trial_id, name)) WITHOUT ROWID;
CREATE TABLE trial_values (
  trial_id INTEGER NOT NULL REFERENCES trials, idx INTEGER NOT NULL, value REAL,
  PRIMARY KEY (trial_id, idx)) WITHOUT ROWID;
CREATE TABLE trial_metrics (
  trial_id INTEGER NOT NULL REFERENCES trials, name TEXT NOT NULL, value REAL,
  PRIMARY KEY (trial_id, name)) WITHOUT ROWID;
CREATE TABLE trial_constraints (
  trial_id INTEGER NOT NULL REFERENCES trials, idx INTEGER NOT NULL, value REAL,
  PRIMARY KEY (trial_id, idx)) WITHOUT ROWID;
CREATE TABLE trial_user_attrs (
  trial_id INTEGER NOT NULL REFERENCES trials, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (trial_id, key)) WITHOUT ROWID;
INSERT INTO schema_version (version) VALUES (1);
)sql";

// Version 2: per-trial leases (Storage::lease), for trials reserved by `autocompress ask` and
// evaluated outside any worker. NULL = no lease, as for every trial recorded before.
const char* const kV2 = R"sql(
ALTER TABLE trials ADD COLUMN lease_until REAL;
UPDATE schema_version SET version = 2;
)sql";

std::string quote_literal(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

}  // namespace

const std::vector<std::string>& migrations() {
  static const std::vector<std::string> m = {kV1, kV2};
  return m;
}

const char* const kFlatColumnsQuery = R"sql(
SELECT name, kind FROM (
  SELECT name, 0 AS kind, idx AS ord FROM study_objectives
  UNION ALL SELECT name, 1, 0 FROM study_metrics
  UNION ALL SELECT name, 2, idx FROM study_constraints)
ORDER BY kind, ord, name)sql";

void add_flat_view_column(std::vector<FlatViewColumn>& cols, const std::string& name,
                          int64_t kind) {
  static const std::set<std::string> fixed = [] {
    std::set<std::string> s(flat_text_columns().begin(), flat_text_columns().end());
    for (const auto& col : flat_columns(Study{}, {})) s.insert(col.name);
    return s;
  }();
  if (fixed.count(name)) return;
  auto it = std::find_if(cols.begin(), cols.end(),
                         [&](const FlatViewColumn& col) { return col.name == name; });
  if (it == cols.end()) it = cols.insert(cols.end(), FlatViewColumn{name});
  (kind == 0 ? it->objective : kind == 1 ? it->metric : it->constraint) = true;
}

std::string trials_flat_ddl(const std::vector<FlatViewColumn>& columns) {
  std::string sql =
      "CREATE VIEW trials_flat AS SELECT t.trial_id AS trial_id, t.study_id AS study_id, "
      "s.name AS study, t.number AS number, t.state AS state, t.worker AS worker, "
      "t.error AS error, t.started_at AS started_at, t.finished_at AS finished_at, "
      "t.finished_at - t.started_at AS duration_s";
  for (const auto& c : columns) {
    const std::string lit = quote_literal(c.name);
    std::vector<std::string> sources;
    if (c.objective)
      sources.push_back(
          "(SELECT v.value FROM trial_values v JOIN study_objectives o ON o.study_id = t.study_id "
          "AND o.idx = v.idx WHERE v.trial_id = t.trial_id AND o.name = " +
          lit + ")");
    if (c.metric)
      sources.push_back(
          "(SELECT m.value FROM trial_metrics m WHERE m.trial_id = t.trial_id AND "
          "m.name = " +
          lit + ")");
    if (c.constraint)
      sources.push_back(
          "(SELECT v.value FROM trial_constraints v JOIN study_constraints o ON "
          "o.study_id = t.study_id AND o.idx = v.idx WHERE v.trial_id = t.trial_id AND o.name = " +
          lit + ")");
    std::string expr = sources.size() == 1 ? sources[0] : "COALESCE(";
    if (sources.size() > 1) {
      for (size_t i = 0; i < sources.size(); ++i) expr += (i ? ", " : "") + sources[i];
      expr += ")";
    }
    sql += ", " + expr + " AS " + quote_identifier(c.name);
  }
  return sql + " FROM trials t JOIN studies s ON s.study_id = t.study_id";
}

}  // namespace autocompress
