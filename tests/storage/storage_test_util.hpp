// Helpers shared by the storage tests: temporary directories, a study spec, file bytes.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "storage/types.hpp"
#include "tests/common/temp_dir.hpp"

namespace autocompress::storage_testing {

using testing::TempDir;

inline std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline StudySpec test_spec(const std::string& name = "s") {
  StudySpec s;
  s.name = name;
  s.model_sha256 = std::string(64, 'a');
  s.model_path = "examples/fashion_cnn.onnx";
  s.dataset = "fashion-mnist";
  s.split = "val";
  s.target = "x86-avx2";
  s.objectives = {{"accuracy", Direction::kMaximize}, {"latency_ms", Direction::kMinimize}};
  s.reference_point = {0.0, 10.0};
  s.constraints = {"accuracy_drop"};
  s.search_space = R"({"conv1/prune":[0,0.5]})";
  s.sampler = "nsga2";
  s.sampler_settings = R"({"population":16})";
  s.provenance = {"autocompress 0.1.0", "2.6.3", "Test CPU", "avx2", 2};
  s.user_attrs = {{"owner", "tests"}};
  return s;
}

// The result the tests record for trial `n`: deterministic, so a restart can check it.
inline TrialResult test_result(int64_t n) {
  TrialResult r;
  r.values = {0.5 + 0.001 * double(n), 1.0 + 0.5 * double(n % 7)};
  r.metrics = {{"top5", 0.9}, {"kl", 0.01 * double(n)}, {"macs", 1e6 + double(n)}};
  r.constraints = {0.01 - 0.001 * double(n % 20)};
  return r;
}

inline std::vector<Param> test_params(int64_t n) {
  return {{"conv1/prune", 0.1 * double(n % 5)},
          {"conv1/precision", std::string("int8")},
          {"fc/wbits", double(4 + n % 5)}};
}

}  // namespace autocompress::storage_testing
