#include "data/fingerprint.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress {
namespace {

using testing::error_message;
using testing::expect_contains;
using testing::put;
using testing::TempDir;

TEST(Fingerprint, CountsSizesAndChangesWithTheList) {
  TempDir d;
  put(d, "cat/1.png", "abc");
  put(d, "dog/2.png", "hello");
  const Fingerprint a = fingerprint_source(d.str());
  EXPECT_EQ(a.files, 2);
  EXPECT_EQ(a.bytes, 8);
  EXPECT_EQ(a.list_hash.size(), 16u);
  EXPECT_EQ(fingerprint_source(d.str()), a);  // deterministic
  put(d, "dog/2.png", "hellO");               // same size, same list: unchanged by design
  EXPECT_EQ(fingerprint_source(d.str()), a);
  put(d, "dog/2.png", "hello!");
  const Fingerprint b = fingerprint_source(d.str());
  EXPECT_NE(b.list_hash, a.list_hash);
  EXPECT_EQ(b.bytes, 9);
  put(d, "dog/3.png", "");
  EXPECT_EQ(fingerprint_source(d.str()).files, 3);
}

TEST(Fingerprint, SameTreeElsewhereSameHashAndMissingFileNamed) {
  TempDir a, b;
  for (const TempDir* d : {&a, &b}) put(*d, "x/1.jpg", "data");
  EXPECT_EQ(fingerprint_source(a.str()), fingerprint_source(b.str()));
  EXPECT_EQ(fingerprint_source(a.file("x/1.jpg")).files, 1);
  expect_contains(error_message<DataError>([&] { fingerprint_files({a.file("none.jpg")}, ""); }),
                  "none.jpg");
}

}  // namespace
}  // namespace autocompress
