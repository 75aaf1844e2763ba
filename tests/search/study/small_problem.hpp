// The small compression problem the search tests share: the example model on the first
// `val_limit` validation images, 64 calibration images, early-stopping chunks of 100, latency
// from the target's roofline (latency_model_test covers the measured host model and its warm-up).
#pragma once

#include <cstdint>
#include <string>

#include "search/study/problem.hpp"

namespace autocompress {

inline ProblemConfig small_problem_config(int64_t val_limit, double max_accuracy_drop) {
  ProblemConfig c;
  c.model = std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx";
  c.val_limit = val_limit;
  c.calib_limit = 64;
  c.chunk = 100;
  c.max_accuracy_drop = max_accuracy_drop;
  c.latency_model = "roofline";
  return c;
}

}  // namespace autocompress
