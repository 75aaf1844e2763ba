// The precision mode of a layer's compute, shared by recipes (compressors/), hardware models
// (hwmodels/) and the evaluator: the data type its kernel runs in.
#pragma once

#include <optional>
#include <string>

namespace autocompress {

enum class Precision { kFp32, kBf16, kInt8 };

inline const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
  }
  return "?";
}

// "fp32" | "bf16" | "int8"; std::nullopt otherwise.
inline std::optional<Precision> parse_precision(const std::string& s) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8})
    if (s == precision_name(p)) return p;
  return std::nullopt;
}

// Natural width of a mode's values: 32, 16, 8.
inline int precision_bits(Precision p) {
  return p == Precision::kFp32 ? 32 : p == Precision::kBf16 ? 16 : 8;
}

}  // namespace autocompress
