// Models the hwmodels tests describe, loaded once per process.
#pragma once

#include "model/onnx_io.hpp"

namespace autocompress::testing {

inline const Graph& fashion_cnn() {
  static const Graph g = load_onnx(AC_SOURCE_DIR "/examples/fashion_cnn.onnx");
  return g;
}

}  // namespace autocompress::testing
