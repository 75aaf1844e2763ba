// The oneDNN evaluator: compile(graph, options) builds the primitive list once (BatchNorm folded
// into the preceding Conv/Gemm, activations and residual adds fused as post-ops, weights reordered
// once, activations kept in the blocked layouts oneDNN picks, buffers planned by liveness);
// run(batch) then executes the list. Threads: oneDNN's OpenMP team of `threads` in the calling
// thread.
#pragma once

#include <memory>

#include "evaluator/executor.hpp"

namespace autocompress {

struct CompileOptions {
  int64_t batch = 256;  // the batch size primitives are created for (others compiled on demand)
  int threads = 0;      // OpenMP threads for oneDNN; 0 = all cores
};

std::unique_ptr<Executor> compile(const Graph& g, const CompileOptions& options);

}  // namespace autocompress
