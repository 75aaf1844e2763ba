// Which way an objective is better: the sense the multi-objective math (search/moo) works with,
// and that a stored study's objective directions (storage/types.hpp) convert to.
#pragma once

#include <cstdint>

namespace autocompress {

enum class Sense : uint8_t { kMinimize, kMaximize };

}  // namespace autocompress
