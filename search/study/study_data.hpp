// The data a study records (user attr "data", written when the study is created): its validation
// and calibration data as the problem opened them, the source and labels made absolute, the kind
// detected, and a fingerprint of each (data/fingerprint.hpp), so that resuming the study on other
// files is refused and an exported recipe names the exact files from any working directory:
//
//   {"validation":  {"spec": {..DataSpec..}, "kind": "...", "fingerprint": {..},
//                    "labels_fingerprint": {..}},   // labels: only with a labels file
//    "calibration": {"spec": {..}, "kind": "...", "fingerprint": {..}}}
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "compressors/recipe.hpp"
#include "data/data_spec.hpp"
#include "data/fingerprint.hpp"
#include "search/study/problem.hpp"
#include "storage/types.hpp"

namespace autocompress {

struct RecordedData {
  DataSpec spec;  // source and labels absolute
  std::string kind;
  Fingerprint fingerprint;                        // of spec.source
  std::optional<Fingerprint> labels_fingerprint;  // of spec.labels, when set
};
struct StudyData {
  RecordedData validation, calibration;
};

// The data of `p` now (fingerprints computed; DataError naming a file that cannot be read).
StudyData study_data(const CompressionProblem& p);
nlohmann::json study_data_json(const StudyData& d);
// The record of `s`, or std::nullopt for a study without one (made before studies recorded their
// data, or by ask / tell from outside). DataError naming the study for a malformed record.
std::optional<StudyData> recorded_data(const Study& s);
// DataError naming the first source or labels file whose fingerprint in `now` differs from the
// study's record, with both fingerprints. The paths may differ: the same files elsewhere pass.
void check_same_data(const StudyData& recorded, const StudyData& now, const std::string& study);

// How the study calibrated, for a recipe (compressors/recipe.hpp): the recorded calibration data
// and fingerprint when the study has a record; else calibration_spec of its config (the model's
// normalization), its source made absolute when it exists here, fingerprinted as of now. The
// ApplyOptions are problem_apply_options of the config. What `export` and `pareto --export-dir`
// write.
CalibrationRecord study_calibration(const Study& s, const ProblemConfig& c);

}  // namespace autocompress
