// The executor interface: something that runs a Graph on float32 tensors.
// Two implementations: the naive reference (reference.hpp, float64 accumulate, plain loops, any
// batch) and the oneDNN evaluator (onednn_executor.hpp, compiled once, fast).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

// A plain (row-major, NCHW) float32 host tensor.
struct HostTensor {
  Shape shape;
  std::vector<float> data;
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Run on inputs in the order of Graph::inputs; returns outputs in the order of Graph::outputs.
  // The batch is the first dimension of the inputs. Throws DataError when an input's shape does
  // not fit the model's input (naming both shapes).
  virtual std::vector<HostTensor> run(const std::vector<HostTensor>& inputs) = 0;
  virtual std::string name() const = 0;
};

// Check `inputs` against the graph's inputs for a batch taken from inputs[0]; returns the batch.
int64_t check_inputs(const Graph& g, const std::vector<HostTensor>& inputs);

}  // namespace autocompress
