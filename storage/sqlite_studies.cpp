#include "storage/sqlite_studies.hpp"

#include <nlohmann/json.hpp>

#include "storage/sqlite_open.hpp"
#include "storage/trial_rows.hpp"

namespace autocompress {

std::vector<Study> SqliteStudies::read_rows(const std::string* name) {
  std::vector<Study> out;
  Query q(c_, std::string(kStudyColumns) + (name ? "WHERE name = ?" : "ORDER BY study_id"));
  if (name) q.bind(1, *name);
  while (q.step()) out.push_back(study_from_row(q));
  return out;
}

void SqliteStudies::read_children(Study& s) {
  Query o(c_, "SELECT name, direction FROM study_objectives WHERE study_id = ? ORDER BY idx");
  o.bind(1, s.id);
  while (o.step()) s.objectives.push_back({o.text(0), direction_from(o.text(1))});
  Query c(c_, "SELECT name FROM study_constraints WHERE study_id = ? ORDER BY idx");
  c.bind(1, s.id);
  while (c.step()) s.constraints.push_back(c.text(0));
  Query a(c_, "SELECT key, value FROM study_user_attrs WHERE study_id = ?");
  a.bind(1, s.id);
  while (a.step()) s.user_attrs[a.text(0)] = a.text(1);
}

std::vector<Study> SqliteStudies::load(const std::string* name) {
  std::vector<Study> out = read_rows(name);
  for (auto& s : out) read_children(s);
  return out;
}

Study SqliteStudies::insert(const StudySpec& spec, double created_at) {
  Study s;
  static_cast<StudySpec&>(s) = spec;
  s.created_at = created_at > 0 ? created_at : unix_now();
  {
    Query q(c_,
            "INSERT INTO studies (name, model_sha256, model_path, dataset, split, target, "
            "reference_point, search_space, sampler, sampler_settings, tool_version, "
            "onednn_version, cpu_model, isa, threads, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING study_id");
    const auto& p = spec.provenance;
    q.bind(1, spec.name).bind(2, spec.model_sha256).bind(3, spec.model_path);
    q.bind(4, spec.dataset).bind(5, spec.split).bind(6, spec.target);
    q.bind(7, nlohmann::json(spec.reference_point).dump()).bind(8, spec.search_space);
    q.bind(9, spec.sampler).bind(10, spec.sampler_settings).bind(11, p.tool_version);
    q.bind(12, p.onednn_version).bind(13, p.cpu_model).bind(14, p.isa).bind(15, p.threads);
    q.bind(16, s.created_at);
    q.step();
    s.id = q.integer(0);
    q.run();
  }
  for (size_t i = 0; i < spec.objectives.size(); ++i) {
    Query q(c_,
            "INSERT INTO study_objectives (study_id, idx, name, direction) VALUES (?, ?, ?, ?)");
    q.bind(1, s.id).bind(2, int64_t(i)).bind(3, spec.objectives[i].name);
    q.bind(4, std::string(to_string(spec.objectives[i].direction)));
    q.run();
  }
  for (size_t i = 0; i < spec.constraints.size(); ++i) {
    Query q(c_, "INSERT INTO study_constraints (study_id, idx, name) VALUES (?, ?, ?)");
    q.bind(1, s.id).bind(2, int64_t(i)).bind(3, spec.constraints[i]);
    q.run();
  }
  for (const auto& [k, v] : spec.user_attrs) {
    Query q(c_, "INSERT INTO study_user_attrs (study_id, key, value) VALUES (?, ?, ?)");
    q.bind(1, s.id).bind(2, k).bind(3, v);
    q.run();
  }
  rebuild_flat_view(c_);
  return s;
}

Study SqliteStudies::by_id(int64_t id) {
  if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  for (auto& s : load(nullptr))
    if (s.id == id) return cache_[id] = s;
  throw StorageError(ErrorKind::kUsage, c_.path, "unknown study id " + std::to_string(id));
}

const Study* SqliteStudies::cached(int64_t id) const {
  auto it = cache_.find(id);
  return it == cache_.end() ? nullptr : &it->second;
}

std::vector<std::string> SqliteStudies::metric_names(int64_t study_id) {
  std::vector<std::string> out;
  Query q(c_, "SELECT name FROM study_metrics WHERE study_id = ? ORDER BY name");
  q.bind(1, study_id);
  while (q.step()) out.push_back(q.text(0));
  return out;
}

void SqliteStudies::set_user_attr(int64_t study_id, const std::string& key,
                                  const std::string& value) {
  Query q(c_, "INSERT OR REPLACE INTO study_user_attrs (study_id, key, value) VALUES (?, ?, ?)");
  q.bind(1, study_id).bind(2, key).bind(3, value).run();
}

}  // namespace autocompress
