// A test suite base with the ImageFolder fixture of tests/data/make_image_folder.py (Debian's
// python3-pil and python3-torchvision), made once per suite in a temporary directory; tests skip
// when /usr/bin/python3 cannot import torchvision.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tests/data/test_files.hpp"

namespace autocompress::testing {

class TorchvisionFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("/usr/bin/python3 -c 'import torchvision' >/dev/null 2>&1") != 0) return;
    dir_ = new TempDir;
    const std::string cmd = "/usr/bin/python3 -B " + std::string(AC_SOURCE_DIR) +
                            "/tests/data/make_image_folder.py " + dir_->str();
    made_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "/usr/bin/python3 cannot import torchvision";
    ASSERT_TRUE(made_) << "make_image_folder.py failed";
  }
  static std::string folder() { return dir_->file("folder"); }

  static inline TempDir* dir_ = nullptr;
  static inline bool made_ = false;
};

}  // namespace autocompress::testing
