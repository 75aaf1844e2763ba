#include "hwmodels/measure_cache.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/error.hpp"
#include "tests/common/temp_dir.hpp"

namespace ac = autocompress;

namespace {

using ac::testing::TempDir;

TEST(MeasureCache, PutGet) {
  const TempDir dir("ac_measure_cache");
  ac::MeasureCache cache((dir.path() / "m.db").string());
  EXPECT_FALSE(cache.get("conv|b=1").has_value());
  cache.put("conv|b=1", 1.5e-5, 20);
  const auto hit = cache.get("conv|b=1");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->signature, "conv|b=1");
  EXPECT_EQ(hit->seconds, 1.5e-5);
  EXPECT_EQ(hit->repeats, 20);
  EXPECT_EQ(hit->measured_at.size(), 19u) << hit->measured_at;  // "YYYY-MM-DD HH:MM:SS"
}

TEST(MeasureCache, PutReplaces) {
  const TempDir dir("ac_measure_cache");
  ac::MeasureCache cache((dir.path() / "m.db").string());
  cache.put("a", 1.0, 1);
  cache.put("a", 2.0, 5);
  EXPECT_EQ(cache.get("a")->seconds, 2.0);
  EXPECT_EQ(cache.get("a")->repeats, 5);
  EXPECT_EQ(cache.all().size(), 1u);
}

TEST(MeasureCache, PersistsAcrossReopen) {
  const TempDir dir("ac_measure_cache");
  const auto path = (dir.path() / "sub" / "dir" / "m.db").string();  // directories are created
  {
    ac::MeasureCache cache(path);
    cache.put("b", 3e-6, 10);
    cache.put("a", 4e-6, 10);
  }
  ac::MeasureCache again(path);
  const auto all = again.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].signature, "a");
  EXPECT_EQ(all[1].seconds, 3e-6);
}

TEST(MeasureCache, TwoHandlesSeeEachOther) {
  const TempDir dir("ac_measure_cache");
  const auto path = (dir.path() / "m.db").string();
  ac::MeasureCache a(path), b(path);
  a.put("x", 1e-3, 3);
  ASSERT_TRUE(b.get("x").has_value());
}

TEST(MeasureCache, NotADatabaseIsAnIoError) {
  const TempDir dir("ac_measure_cache");
  const auto path = dir.path() / "junk.db";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("this is not sqlite, just some text long enough to be a header......", f);
    std::fclose(f);
  }
  EXPECT_THROW(ac::MeasureCache{path.string()}, ac::IoError);
}

TEST(MeasureCache, DefaultPathFromEnvironment) {
  const char* old = std::getenv("AC_MEASURE_CACHE");
  const std::string saved = old ? old : "";
  setenv("AC_MEASURE_CACHE", "/tmp/x/m.db", 1);
  EXPECT_EQ(ac::default_measure_cache_path(), "/tmp/x/m.db");
  unsetenv("AC_MEASURE_CACHE");
  EXPECT_NE(ac::default_measure_cache_path().find(".cache/autocompress/measurements.db"),
            std::string::npos);
  if (old) setenv("AC_MEASURE_CACHE", saved.c_str(), 1);
}

}  // namespace
