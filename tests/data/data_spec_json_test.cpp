#include "data/data_spec_json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress {
namespace {

using nlohmann::json;
using testing::error_message;
using testing::expect_contains;

void expect_same(const DataSpec& a, const DataSpec& b) {
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.split, b.split);
  EXPECT_EQ(a.limit, b.limit);
  EXPECT_EQ(a.cache_bytes, b.cache_bytes);
  const Preprocessing &p = a.preprocessing, &q = b.preprocessing;
  EXPECT_EQ(p.resize, q.resize);
  EXPECT_EQ(p.center_crop, q.center_crop);
  EXPECT_EQ(p.norm.mean, q.norm.mean);  // bitwise: float -> JSON -> float is exact
  EXPECT_EQ(p.norm.std, q.norm.std);
  EXPECT_EQ(p.order, q.order);
  EXPECT_EQ(p.layout, q.layout);
}

DataSpec full_spec() {
  DataSpec s;
  s.source = "/data/val folder/";
  s.labels = "y.npy";
  s.split = Split::kTest;
  s.limit = 77;
  s.cache_bytes = 12345;
  s.preprocessing.resize = {256};
  s.preprocessing.center_crop = {224, 200};
  s.preprocessing.norm = {{0.485f, 0.456f, 0.1f}, {0.229f, 0.224f, 1.0f / 3}};
  s.preprocessing.order = ChannelOrder::kBgr;
  s.preprocessing.layout = Layout::kNhwc;
  return s;
}

TEST(DataSpecJson, RoundTripIsExact) {
  const DataSpec s = full_spec();
  const json j = data_spec_to_json(s);
  expect_same(data_spec_from_json(j, "x"), s);
  expect_same(data_spec_from_json(json::parse(j.dump()), "x"), s);  // through the text too
  EXPECT_EQ(data_spec_to_json(data_spec_from_json(json::parse(j.dump()), "x")), j);
  EXPECT_EQ(j["split"], "test");
  EXPECT_EQ(j["preprocessing"]["resize"], 256);  // {S} as a number, {H, W} as a list
  EXPECT_EQ(j["preprocessing"]["center_crop"], json({224, 200}));

  DataSpec plain;  // defaults: no labels, no split, identity preprocessing
  plain.source = "x.npy";
  const json p = data_spec_to_json(plain);
  EXPECT_FALSE(p.contains("labels"));
  EXPECT_FALSE(p.contains("split"));
  EXPECT_FALSE(p["preprocessing"].contains("mean"));
  expect_same(data_spec_from_json(p, "x"), plain);
  expect_same(data_spec_from_json(json{{"source", "x.npy"}}, "x"), plain);
}

TEST(DataSpecJson, FingerprintRoundTrip) {
  const Fingerprint f{3, 999, "0123456789abcdef"};
  EXPECT_EQ(fingerprint_from_json(json::parse(fingerprint_to_json(f).dump()), "x"), f);
  expect_contains(error_message<DataError>([] {
                    fingerprint_from_json(json{{"files", 1}, {"bytes", 2}}, "r.json", "cal.fp");
                  }),
                  "r.json: field 'cal.fp.list_hash': missing");
}

TEST(DataSpecJson, BadFieldsNameTheFileAndTheField) {
  const auto msg = [](json j) {
    return error_message<DataError>([&] { data_spec_from_json(j, "r.json", "calibration.data"); });
  };
  json j = data_spec_to_json(full_spec());
  j["colour"] = 1;
  expect_contains(msg(j), "r.json: field 'calibration.data.colour': unknown field");
  j = data_spec_to_json(full_spec());
  j["limit"] = "ten";
  expect_contains(msg(j), "field 'calibration.data.limit': expected an integer >= 0, got \"ten\"");
  j["limit"] = -1;
  expect_contains(msg(j), "field 'calibration.data.limit'");
  j = data_spec_to_json(full_spec());
  j["split"] = "dev";
  expect_contains(msg(j),
                  "field 'calibration.data.split': expected \"train\", \"val\" or \"test\"");
  j.erase("split");
  j["source"] = 3;
  expect_contains(msg(j), "field 'calibration.data.source': expected a string, got 3");
  j.erase("source");
  expect_contains(msg(j), "field 'calibration.data.source': missing");
  j = data_spec_to_json(full_spec());
  j["preprocessing"]["resize"] = "big";
  const std::string m = msg(j);
  expect_contains(m, "r.json: calibration.data.preprocessing: field 'resize': expected");
  j["preprocessing"] = {{"gamma", 2}};
  expect_contains(msg(j), "unknown field 'gamma'");
  expect_contains(msg(json::array()), "field 'calibration.data': expected a JSON object");
  EXPECT_EQ(Error(ErrorKind::kData, "").exit_code(), 5);
}

}  // namespace
}  // namespace autocompress
