// write_file_atomically (common/atomic_file.hpp): the complete new file or the old one, never a
// part, and no temporary left behind.
#include "common/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/error.hpp"
#include "common/file.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress {
namespace {

namespace fs = std::filesystem;

size_t entries(const fs::path& dir) {
  return size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicFile, WritesAndReplacesWithThePermissionsOfAPlainCreate) {
  testing::TempDir dir("atomic_file");
  const std::string path = dir.file("out.json");
  write_file_atomically(path, "first");
  EXPECT_EQ(read_file(path), "first");
  write_file_atomically(path, std::string(1 << 20, 'x'));
  EXPECT_EQ(read_file(path).size(), size_t(1) << 20);
  write_file_atomically(path, "");
  EXPECT_EQ(read_file(path), "");
  EXPECT_EQ(entries(dir.path()), 1u);  // no temporary left
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
}

TEST(AtomicFile, AFailedWriteLeavesTheTargetAndNoTemporary) {
  testing::TempDir dir("atomic_file");
  // The rename fails: the target is a non-empty directory, which stays as it was.
  const fs::path target = dir.path() / "model.onnx";
  fs::create_directory(target);
  write_file_atomically((target / "inside").string(), "kept");
  try {
    write_file_atomically(target.string(), "new bytes");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file((target / "inside").string()), "kept");
  EXPECT_EQ(entries(dir.path()), 1u);
  // The directory does not exist: nothing is created.
  EXPECT_THROW(write_file_atomically(dir.file("missing/out.npy"), "x"), IoError);
  EXPECT_EQ(entries(dir.path()), 1u);
}

}  // namespace
}  // namespace autocompress
