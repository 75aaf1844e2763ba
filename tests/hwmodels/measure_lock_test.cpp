// One measurer at a time (hwmodels/measure_lock.hpp): a second lock on the file waits for the
// first, across descriptions as across processes; an unusable file does not throw.
#include "hwmodels/measure_lock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

TEST(MeasureLock, ASecondHolderWaitsForTheFirst) {
  const testing::TempDir dir("ac_measure_lock");
  const std::string path = (dir.path() / "measure.lock").string();
  std::atomic<bool> second_holds{false};
  std::thread second;
  {
    const MeasureLock first(path);
    ASSERT_TRUE(first.locked()) << first.error();
    second = std::thread([&] {
      const MeasureLock l(path);
      second_holds = l.locked();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(second_holds.load());  // still waiting
  }
  second.join();
  EXPECT_TRUE(second_holds.load());
}

TEST(MeasureLock, AFileThatCannotBeOpenedIsReportedNotThrown) {
  const MeasureLock l("/no/such/dir/measure.lock");
  EXPECT_FALSE(l.locked());
  EXPECT_NE(l.error().find("/no/such/dir/measure.lock"), std::string::npos) << l.error();
}

TEST(MeasureLock, PathFromTheEnvironment) {
  ::setenv("AC_MEASURE_LOCK", "/tmp/x.lock", 1);
  EXPECT_EQ(measure_lock_path(), "/tmp/x.lock");
  ::unsetenv("AC_MEASURE_LOCK");
  EXPECT_EQ(measure_lock_path(), "/tmp/autocompress-measure.lock");
}

}  // namespace
}  // namespace autocompress
