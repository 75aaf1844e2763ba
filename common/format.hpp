// One number formatted printf-style into a string (for messages, tables and reports).
#pragma once

#include <cstdio>
#include <string>

namespace autocompress {

// `f` is a printf format with one floating-point conversion ("%.3g"); results over 63 characters
// are cut.
inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace autocompress
