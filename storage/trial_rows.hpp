// Decoding study and trial rows into Study and FrozenTrial from column values: the studies row, the
// row of the trials table and the rows of its child tables (params, values, metrics, constraints,
// user attributes). Backend- neutral: Row is any row reader with null(c), real(c), time(c),
// integer(c) and text(c), and the column orders below are what each backend's SELECT lists.
#pragma once

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "storage/storage.hpp"

namespace autocompress {

// The studies' columns in the order study_from_row reads them (reference_point is JSON); the
// backends append their WHERE / ORDER BY.
inline constexpr const char* kStudyColumns =
    "SELECT study_id, name, model_sha256, model_path, dataset, split, target, "
    "reference_point, search_space, sampler, sampler_settings, tool_version, "
    "onednn_version, cpu_model, isa, threads, created_at FROM studies ";

template <class Row>
Study study_from_row(const Row& q) {
  Study s;
  s.id = q.integer(0);
  s.name = q.text(1);
  s.model_sha256 = q.text(2);
  s.model_path = q.text(3);
  s.dataset = q.text(4);
  s.split = q.text(5);
  s.target = q.text(6);
  const std::string reference = q.text(7);
  s.reference_point = nlohmann::json::parse(reference).get<std::vector<double>>();
  s.search_space = q.text(8);
  s.sampler = q.text(9);
  s.sampler_settings = q.text(10);
  s.provenance = {q.text(11), q.text(12), q.text(13), q.text(14), int(q.integer(15))};
  s.created_at = q.real(16);
  return s;
}

// Columns: trial_id, number, state, worker, started_at, finished_at, heartbeat_at, error,
// requeued_from, lease_until (times NULL when unset).
template <class Row>
FrozenTrial trial_from_row(const Row& q, int64_t study_id) {
  FrozenTrial t;
  t.study_id = study_id;
  t.number = q.integer(1);
  t.state = trial_state_from(q.text(2));
  t.worker = q.text(3);
  t.started_at = q.time(4);
  t.finished_at = q.time(5);
  t.heartbeat_at = q.time(6);
  t.error = q.text(7);
  if (!q.null(8)) t.requeued_from = q.integer(8);
  t.lease_until = q.time(9);
  return t;
}

// The child rows, each starting with the trial_id column:
// trial_params (trial_id, name, num, text): a number, or a text when text is not NULL.
template <class Row>
void add_param_row(FrozenTrial& t, const Row& q) {
  if (q.null(3))
    t.params.push_back({q.text(1), q.real(2)});
  else
    t.params.push_back({q.text(1), q.text(3)});
}
// An indexed list's row (trial_id, idx, value): the list grown to idx + 1 with NaN, value at idx.
template <class Row>
void set_indexed_row(std::vector<double>& list, const Row& q) {
  list.resize(size_t(q.integer(1)) + 1, NAN);
  list[size_t(q.integer(1))] = q.real(2);
}
// trial_values (trial_id, idx, value)
template <class Row>
void add_value_row(FrozenTrial& t, const Row& q) {
  set_indexed_row(t.values, q);
}
// trial_metrics (trial_id, name, value)
template <class Row>
void add_metric_row(FrozenTrial& t, const Row& q) {
  t.metrics[q.text(1)] = q.real(2);
}
// trial_constraints (trial_id, idx, value)
template <class Row>
void add_constraint_row(FrozenTrial& t, const Row& q) {
  set_indexed_row(t.constraints, q);
}
// trial_user_attrs (trial_id, key, value)
template <class Row>
void add_user_attr_row(FrozenTrial& t, const Row& q) {
  t.user_attrs[q.text(1)] = q.text(2);
}

// Params in name order, whatever order the rows came in.
inline void sort_params(FrozenTrial& t) {
  auto by_name = [](const Param& a, const Param& b) { return a.name < b.name; };
  if (!std::is_sorted(t.params.begin(), t.params.end(), by_name))
    std::sort(t.params.begin(), t.params.end(), by_name);
}

}  // namespace autocompress
