#include "hwmodels/profile.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_profiles.hpp"

namespace ac = autocompress;
using nlohmann::json;

namespace {

// The message of the ProfileError that parsing j throws ("" when it parses).
std::string error_of(const json& j) {
  try {
    ac::parse_profile(j.dump(), "bad.json");
  } catch (const ac::ProfileError& e) {
    return e.what();
  }
  return "";
}

TEST(Profile, ParsesEveryField) {
  const ac::Profile p = ac::testing::fixed_profile();
  EXPECT_EQ(p.name, "fixed");
  ASSERT_EQ(p.precisions.size(), 3u);
  EXPECT_EQ(p.precisions[0], ac::Precision::kFp32);
  EXPECT_EQ(p.rate(ac::Precision::kInt8), 4e11);
  EXPECT_EQ(p.eff(ac::LayerKind::kDepthwise), 0.5);
  EXPECT_EQ(p.channel_multiple, 16);
  EXPECT_EQ(p.energy.mac_pj[int(ac::Precision::kFp32)], 4.6);
  EXPECT_FALSE(p.bit_flexible);
  EXPECT_TRUE(ac::testing::flexible_profile().bit_flexible);
}

TEST(Profile, MissingFieldIsNamed) {
  auto j = ac::testing::fixed_json();
  j.erase("dram_bytes_per_s");
  EXPECT_NE(error_of(j).find("field 'dram_bytes_per_s': missing"), std::string::npos)
      << error_of(j);
  j = ac::testing::fixed_json();
  j["mac_per_s"].erase("int8");
  EXPECT_NE(error_of(j).find("'mac_per_s.int8'"), std::string::npos) << error_of(j);
  j = ac::testing::fixed_json();
  j["energy"]["mac_pj"].erase("bf16");
  EXPECT_NE(error_of(j).find("'energy.mac_pj.bf16'"), std::string::npos) << error_of(j);
  j = ac::testing::fixed_json();
  j["efficiency"].erase("pool");
  EXPECT_NE(error_of(j).find("'efficiency.pool'"), std::string::npos) << error_of(j);
  j = ac::testing::flexible_json();
  j["energy"].erase("mult_8x8_pj");
  EXPECT_NE(error_of(j).find("'energy.mult_8x8_pj'"), std::string::npos) << error_of(j);
}

TEST(Profile, NegativeOrZeroRateIsNamedWithValue) {
  auto j = ac::testing::fixed_json();
  j["mac_per_s"]["fp32"] = -1;
  const std::string e = error_of(j);
  EXPECT_NE(e.find("bad.json: field 'mac_per_s.fp32': must be positive, got -1"), std::string::npos)
      << e;
  j = ac::testing::fixed_json();
  j["dram_bytes_per_s"] = 0;
  EXPECT_NE(error_of(j).find("'dram_bytes_per_s'"), std::string::npos);
  j = ac::testing::fixed_json();
  j["energy"]["dram_pj_per_byte"] = -3;
  EXPECT_NE(error_of(j).find("'energy.dram_pj_per_byte': must be non-negative"), std::string::npos);
}

TEST(Profile, UnknownPrecisionOrKindIsNamed) {
  auto j = ac::testing::fixed_json();
  j["precisions"][1] = "fp8";
  EXPECT_NE(error_of(j).find("'precisions[1]': unknown precision 'fp8'"), std::string::npos)
      << error_of(j);
  j = ac::testing::fixed_json();
  j["mac_per_s"]["int4"] = 1e12;
  EXPECT_NE(error_of(j).find("'mac_per_s.int4'"), std::string::npos) << error_of(j);
  j = ac::testing::fixed_json();
  j["efficiency"]["lstm"] = 1;
  EXPECT_NE(error_of(j).find("'efficiency.lstm'"), std::string::npos) << error_of(j);
}

TEST(Profile, WrongTypesAndBadJson) {
  auto j = ac::testing::fixed_json();
  j["channel_multiple"] = "sixteen";
  EXPECT_NE(error_of(j).find("'channel_multiple': must be a number"), std::string::npos);
  j = ac::testing::fixed_json();
  j["verified"] = 1;
  EXPECT_NE(error_of(j).find("'verified'"), std::string::npos);
  EXPECT_THROW(ac::parse_profile("{not json", "x.json"), ac::ProfileError);
  EXPECT_THROW(ac::load_profile("/nonexistent/p.json"), ac::IoError);
}

TEST(Profile, BundledProfilesLoadAndAreListed) {
  const ac::Profile host = ac::find_profile("host");
  EXPECT_EQ(host.name, "host");
  EXPECT_EQ(host.energy.label, "modeled");
  EXPECT_EQ(host.rate(ac::Precision::kInt8), 4 * host.rate(ac::Precision::kFp32));
  EXPECT_EQ(host.rate(ac::Precision::kBf16), 2 * host.rate(ac::Precision::kFp32));
  const ac::Profile bf = ac::find_profile("bitfusion");
  EXPECT_TRUE(bf.bit_flexible);
  EXPECT_FALSE(bf.verified);
  EXPECT_FALSE(bf.sources.at("mac_per_s.int8").empty());
  bool has_host = false, has_bf = false;
  for (const auto& e : ac::list_profiles()) {
    EXPECT_EQ(e.summary.find("invalid"), std::string::npos) << e.path << ": " << e.summary;
    has_host |= e.name == "host";
    has_bf |= e.name == "bitfusion";
  }
  EXPECT_TRUE(has_host && has_bf);
  EXPECT_THROW(ac::find_profile("no_such_target"), ac::UsageError);
}

TEST(Profile, UserDirectoryFromEnvironment) {
  const auto dir = std::filesystem::temp_directory_path() / "ac_hw_profiles_test";
  std::filesystem::create_directories(dir);
  auto j = ac::testing::fixed_json();
  j["name"] = "mydev";
  std::ofstream(dir / "mydev.json") << j.dump();
  ::setenv("AC_PROFILE_DIR", dir.c_str(), 1);
  EXPECT_EQ(ac::find_profile("mydev").name, "mydev");
  bool listed = false;
  for (const auto& e : ac::list_profiles()) listed |= e.name == "mydev" && e.origin == "user";
  EXPECT_TRUE(listed);
  ::unsetenv("AC_PROFILE_DIR");
  std::filesystem::remove_all(dir);
}

}  // namespace

namespace {

// Profiles from published figures are unverified and name a source for every figure.
TEST(Profile, BundledProfilesNameTheirSources) {
  for (const char* name : {"host", "bitfusion", "cortex_a76"}) {
    const ac::Profile p = ac::find_profile(name);
    for (const char* field : {"efficiency", "channel_multiple", "onchip_bytes", "dram_bytes_per_s",
                              "onchip_bytes_per_s", "overhead_s", "energy"})
      EXPECT_TRUE(p.sources.count(field)) << name << ": no source for " << field;
    for (ac::Precision q : p.precisions)
      EXPECT_TRUE(p.sources.count(std::string("mac_per_s.") + ac::precision_name(q)))
          << name << ": no source for the " << ac::precision_name(q) << " rate";
  }
  EXPECT_FALSE(ac::find_profile("cortex_a76").verified);
  EXPECT_FALSE(ac::find_profile("cortex_a76").supports(ac::Precision::kBf16));
}

}  // namespace
