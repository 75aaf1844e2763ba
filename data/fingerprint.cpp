#include "data/fingerprint.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace autocompress {

namespace fs = std::filesystem;

namespace {

// FNV-1a, 64 bits (Fowler, Noll, Vo): enough to notice a changed list, not a security hash.
void fnv1a(uint64_t& h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
}

}  // namespace

Fingerprint fingerprint_files(const std::vector<std::string>& paths, const std::string& root) {
  std::vector<std::pair<std::string, int64_t>> entries;
  Fingerprint f;
  for (const std::string& p : paths) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    if (ec) throw DataError(p, "cannot read file size: " + ec.message());
    entries.emplace_back(root.empty() ? p : fs::path(p).lexically_relative(root).string(),
                         int64_t(size));
    f.bytes += int64_t(size);
  }
  std::sort(entries.begin(), entries.end());
  uint64_t h = 0xcbf29ce484222325ull;
  for (const auto& [rel, size] : entries) fnv1a(h, rel + '\0' + std::to_string(size) + '\n');
  f.files = int64_t(entries.size());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  f.list_hash = hex;
  return f;
}

std::string fingerprint_text(const Fingerprint& f) {
  return std::to_string(f.files) + " files, " + std::to_string(f.bytes) + " bytes, list hash " +
         f.list_hash;
}

Fingerprint fingerprint_source(const std::string& source) {
  std::error_code ec;
  if (!fs::is_directory(source, ec))
    return fingerprint_files({source}, fs::path(source).parent_path().string());
  std::vector<std::string> paths;
  fs::recursive_directory_iterator it(source, fs::directory_options::follow_directory_symlink, ec);
  if (ec) throw DataError(source, "cannot read directory: " + ec.message());
  for (const auto& e : it)
    if (e.is_regular_file(ec)) paths.push_back(e.path().string());
  return fingerprint_files(paths, source);
}

}  // namespace autocompress
