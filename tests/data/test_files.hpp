// Test helpers for the data readers: writers of raw / gzip files with hand-made contents, and the
// shared temporary directory (tests/common/temp_dir.hpp).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/common/temp_dir.hpp"

namespace autocompress::testing {

inline std::string write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(out.good()) << path;
  return path;
}

// `bytes` written to `rel` below `dir`, its folders created.
inline std::string put(const TempDir& dir, const std::string& rel, const std::string& bytes = "x") {
  const std::filesystem::path p = std::filesystem::path(dir.str()) / rel;
  std::filesystem::create_directories(p.parent_path());
  return write_raw(p.string(), bytes);
}

inline std::string write_gz(const std::string& path, const std::string& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  EXPECT_NE(gz, nullptr) << path;
  if (!bytes.empty()) {
    EXPECT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  EXPECT_EQ(gzclose(gz), Z_OK);
  return path;
}

inline std::string read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Big-endian u32, as IDX dimensions are stored.
inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// An IDX file: magic (00 00 type rank), dims, then `data` as given.
inline std::string idx_bytes(unsigned char type, const std::vector<uint32_t>& dims,
                             const std::string& data) {
  std::string s{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += be32(d);
  return s + data;
}

// An .npy file with the header dict text given verbatim (padded like numpy), then `data`.
inline std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append(64 - (prefix + header.size() + 1) % 64, ' ');
  header += '\n';
  std::string s = std::string("\x93NUMPY") + static_cast<char>(major) + '\0';
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t k = 0; k < len_bytes; ++k) s += static_cast<char>(header.size() >> (8 * k));
  return s + header + data;
}

// Little-endian bytes of the values (the host is little-endian; checked in the tests).
template <class T>
std::string le_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

inline void expect_contains(const std::string& msg, const std::string& part) {
  EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
}

// The message of the exception E thrown by f; fails the test when f throws nothing or else.
template <class E, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

}  // namespace autocompress::testing
