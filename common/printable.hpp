// Text from outside (layer names, file names, expressions) made safe to print whole: a message
// shows every byte it carries, none cuts it short (a NUL ended it at printf) or breaks the
// terminal (a lone byte of a UTF-8 character, a control character).
#pragma once

#include <string>
#include <string_view>

namespace autocompress {

// The length of the valid UTF-8 sequence starting at byte i of `s` (RFC 3629: no overlong 0xC0 /
// 0xC1 lead, nothing past U+10FFFF), 0 when none starts there.
inline size_t utf8_length(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const size_t n = b < 0x80                ? 1
                   : b >= 0xC2 && b < 0xE0 ? 2
                   : b >= 0xE0 && b < 0xF0 ? 3
                   : b >= 0xF0 && b < 0xF5 ? 4
                                           : 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

// `s` with valid UTF-8 kept, newlines and tabs kept, and every other control byte (NUL
// included), DEL and every byte that does not belong to a valid UTF-8 sequence shown as "\xNN".
inline std::string printable(std::string_view s) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = utf8_length(s, i);
    const bool control = n == 1 && (b < 0x20 || b == 0x7F) && b != '\n' && b != '\t';
    if (n > 0 && !control) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
      ++i;
    }
  }
  return out;
}

}  // namespace autocompress
