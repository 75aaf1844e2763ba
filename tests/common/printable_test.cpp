// printable (common/printable.hpp): what the CLI prints of a message keeps every byte visible.
#include "common/printable.hpp"

#include <gtest/gtest.h>

namespace autocompress {
namespace {

TEST(Printable, KeepsUtf8AndEscapesTheRest) {
  EXPECT_EQ(printable("layer 'conv1'\n\tok"), "layer 'conv1'\n\tok");
  EXPECT_EQ(printable("größe ✓ 𝄞"), "größe ✓ 𝄞");
  // A NUL no longer ends the message; control bytes and DEL are escaped.
  EXPECT_EQ(printable(std::string("conv\0x: bad", 11)), "conv\\x00x: bad");
  EXPECT_EQ(printable("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  // Bytes that are not UTF-8: a lone continuation, a cut sequence, an overlong lead.
  EXPECT_EQ(printable("a\x80z"), "a\\x80z");
  EXPECT_EQ(printable("\xc3"), "\\xc3");
  EXPECT_EQ(printable("\xe2\x9c"), "\\xe2\\x9c");
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(utf8_length("é", 0), 2u);
  EXPECT_EQ(utf8_length("\xf5\x80\x80\x80", 0), 0u);
}

}  // namespace
}  // namespace autocompress
