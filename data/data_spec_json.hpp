// A DataSpec and a Fingerprint as JSON, for records that must reopen the same data later (a
// study's data, a recipe's calibration record). The round trip is exact: to_json then from_json
// gives an equal value (floats of mean / std included).
//
//   {"source": "calib/", "labels": "y.npy", "split": "train", "limit": 512,
//    "cache_bytes": 1073741824,
//    "preprocessing": {"resize": 256, "center_crop": [224, 224], "mean": [0.485, 0.456, 0.406],
//                      "std": [0.229, 0.224, 0.225], "channel_order": "RGB", "layout": "NCHW"}}
//   {"files": 10, "bytes": 31360, "list_hash": "cbf29ce484222325"}
//
// "labels" and "split" are left out when not set, the preprocessing's sizes and mean / std when
// empty; its fields are those of a preprocessing file (data/preprocess.hpp). Reading: every field
// but "source" (and "files", "bytes", "list_hash" of a fingerprint) optional; an unknown field, a
// wrong type or value is a DataError naming `name` (the file) and the field's path.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "data/data_spec.hpp"
#include "data/fingerprint.hpp"

namespace autocompress {

nlohmann::json data_spec_to_json(const DataSpec& spec);
// `path` is where `j` sits in its file ("calibration.data"), prefixed to field names in errors.
DataSpec data_spec_from_json(const nlohmann::json& j, const std::string& name,
                             const std::string& path = "");

nlohmann::json fingerprint_to_json(const Fingerprint& f);
Fingerprint fingerprint_from_json(const nlohmann::json& j, const std::string& name,
                                  const std::string& path = "");

// "train" | "val" | "test".
std::string split_name(Split s);

}  // namespace autocompress
