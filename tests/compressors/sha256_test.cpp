// SHA-256 against the FIPS 180-4 / NIST example vectors, and the file digest against sha256sum.
#include "common/sha256.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

namespace autocompress {
namespace {

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                       "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShotAcrossBlockBoundaries) {
  std::string s;
  for (int k = 0; k < 300; ++k) s += char('a' + k % 26);
  for (size_t split : {0, 1, 55, 56, 63, 64, 65, 128, 299}) {
    Sha256 h;
    h.update(std::string_view(s).substr(0, split));
    h.update(std::string_view(s).substr(split));
    auto d = h.finish();
    char buf[65];
    for (int k = 0; k < 32; ++k) std::snprintf(buf + 2 * k, 3, "%02x", d[k]);
    EXPECT_EQ(std::string(buf, 64), sha256_hex(s)) << "split at " << split;
  }
}

TEST(Sha256, FileMatchesSha256sum) {
  const std::string path = std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(("sha256sum " + path).c_str(), "r"), pclose);
  ASSERT_TRUE(p);
  char buf[65] = {};
  ASSERT_EQ(std::fread(buf, 1, 64, p.get()), 64u);
  EXPECT_EQ(sha256_file(path), std::string(buf));
}

}  // namespace
}  // namespace autocompress
