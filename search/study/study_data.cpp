#include "search/study/study_data.hpp"

#include <filesystem>

#include "common/error.hpp"
#include "compressors/apply.hpp"
#include "data/data_spec_json.hpp"
#include "evaluator/evaluate.hpp"
#include "hwmodels/profile.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string absolute(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  const fs::path a = fs::absolute(path, ec);
  return ec ? path : a.lexically_normal().string();
}

RecordedData recorded(const ProblemData& d) {
  RecordedData r{d.spec, d.kind, {}, {}};
  r.spec.source = absolute(r.spec.source);
  r.spec.labels = absolute(r.spec.labels);
  r.fingerprint = fingerprint_source(r.spec.source);
  if (!r.spec.labels.empty()) r.labels_fingerprint = fingerprint_source(r.spec.labels);
  return r;
}

json recorded_json(const RecordedData& r) {
  json j = {{"spec", data_spec_to_json(r.spec)},
            {"kind", r.kind},
            {"fingerprint", fingerprint_to_json(r.fingerprint)}};
  if (r.labels_fingerprint) j["labels_fingerprint"] = fingerprint_to_json(*r.labels_fingerprint);
  return j;
}

RecordedData recorded_from_json(const json& j, const std::string& name, const std::string& path) {
  if (!j.is_object() || !j.contains("spec") || !j.contains("fingerprint"))
    throw DataError(name, path + ": expected an object with \"spec\" and \"fingerprint\"");
  RecordedData r;
  r.spec = data_spec_from_json(j["spec"], name, path + ".spec");
  r.kind = j.value("kind", std::string());
  r.fingerprint = fingerprint_from_json(j["fingerprint"], name, path + ".fingerprint");
  if (j.contains("labels_fingerprint"))
    r.labels_fingerprint =
        fingerprint_from_json(j["labels_fingerprint"], name, path + ".labels_fingerprint");
  return r;
}

void check_same(const char* what, const std::string& path, const Fingerprint& before,
                const Fingerprint& now, const std::string& study) {
  if (before == now) return;
  throw DataError(path, std::string("the ") + what + " changed since study '" + study +
                            "' recorded it (recorded " + fingerprint_text(before) + "; now " +
                            fingerprint_text(now) +
                            "): resume the study on the same files, or choose another --study");
}

}  // namespace

StudyData study_data(const CompressionProblem& p) {
  return {recorded(p.validation_data()), recorded(p.calibration_data())};
}

json study_data_json(const StudyData& d) {
  return {{"validation", recorded_json(d.validation)},
          {"calibration", recorded_json(d.calibration)}};
}

std::optional<StudyData> recorded_data(const Study& s) {
  const auto it = s.user_attrs.find("data");
  if (it == s.user_attrs.end()) return std::nullopt;
  const std::string name = "study '" + s.name + "'";
  const json j = json::parse(it->second, nullptr, false);
  if (!j.is_object()) throw DataError(name, "user_attrs.data: not a JSON object");
  for (const char* k : {"validation", "calibration"})
    if (!j.contains(k)) throw DataError(name, std::string("user_attrs.data.") + k + ": missing");
  return StudyData{recorded_from_json(j["validation"], name, "user_attrs.data.validation"),
                   recorded_from_json(j["calibration"], name, "user_attrs.data.calibration")};
}

void check_same_data(const StudyData& before, const StudyData& now, const std::string& study) {
  const auto check = [&](const char* what, const RecordedData& b, const RecordedData& n) {
    check_same(what, n.spec.source, b.fingerprint, n.fingerprint, study);
    if (b.labels_fingerprint && n.labels_fingerprint)
      check_same("labels file", n.spec.labels, *b.labels_fingerprint, *n.labels_fingerprint, study);
  };
  check("validation data", before.validation, now.validation);
  check("calibration data", before.calibration, now.calibration);
}

CalibrationRecord study_calibration(const Study& s, const ProblemConfig& c) {
  const ApplyOptions o = problem_apply_options(c, find_profile(c.target));
  if (const auto d = recorded_data(s)) {
    CalibrationRecord r = calibration_record(d->calibration.spec, o);
    r.fingerprint = d->calibration.fingerprint;
    return r;
  }
  DataSpec spec = calibration_spec(c, model_normalization(load_onnx(c.model)));
  std::error_code ec;
  const bool here = fs::exists(spec.source, ec);
  if (here) spec.source = absolute(spec.source);
  CalibrationRecord r = calibration_record(spec, o);
  if (here) r.fingerprint = fingerprint_source(spec.source);  // not recorded: as of the export
  return r;
}

}  // namespace autocompress
