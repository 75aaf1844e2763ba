// SHA-256 (FIPS 180-4), used to tie a recipe to the exact model file it was made for.
// A small self-contained implementation: the project takes no crypto library dependency.
// Thread-safe: Sha256 objects are independent values; the free functions are pure.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace autocompress {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // The 32-byte digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t used_ = 0;
  uint64_t length_ = 0;  // bytes
};

// Lower-case hex digest of `bytes`.
std::string sha256_hex(std::string_view bytes);
// Lower-case hex digest of a file's bytes; throws IoError when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace autocompress
