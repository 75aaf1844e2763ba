// The oneDNN evaluator: compile(graph, options) builds the primitive list once (BatchNorm folded
// into the preceding Conv/Gemm, activations and residual adds fused as post-ops, weights reordered
// once, activations kept in the blocked layouts oneDNN picks, buffers planned by liveness);
// run(batch) then executes the list. Threads: oneDNN's OpenMP team of `threads` in the calling
// thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "evaluator/executor.hpp"

namespace autocompress {

struct CompileOptions {
  int64_t batch = 256;  // the batch size primitives are created for (others compiled on demand)
  int threads = 0;      // OpenMP threads for oneDNN; 0 = all cores
};

std::unique_ptr<Executor> compile(const Graph& g, const CompileOptions& options);

// One step of a compiled plan: a primitive (or a reorder / fill it needs) and its median time.
struct StepTiming {
  std::string node;  // the graph node it computes or prepares data for; "(outputs)" at the end
  std::string kind;  // the node's op type, "reorder", "residual copy" or "fill"
  double seconds = 0;
};

// Per-step latency of an executor made by compile(): one warm-up run, then `repeats` runs that
// wait after every step; the median per step. Fused nodes (BN, activations, residual Add) cost
// nothing of their own: they run inside their Conv/Gemm. Throws UsageError for other executors.
std::vector<StepTiming> profile_steps(Executor& ex, const std::vector<HostTensor>& inputs,
                                      int repeats);

}  // namespace autocompress
