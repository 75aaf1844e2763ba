// The executor interface: something that runs a Graph on float32 tensors.
// Two implementations: the naive reference (reference.hpp, float64 accumulate, plain loops, any
// batch) and the oneDNN evaluator (onednn_executor.hpp, compiled once, fast).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

// A plain (row-major, NCHW) float32 host tensor. It carries every graph input and output,
// whatever its element type: a uint8 / int8 tensor (a graph input read by DequantizeLinear, the
// output of a QuantizeLinear) holds its integer values as floats (exact: |v| <= 255), e.g.
// 128.0f for the uint8 128. Executors return integer-typed outputs that way and check_inputs
// requires integer-typed inputs to hold integers in their type's range.
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
// Throws DataError naming the input on a count, shape or size mismatch, and when a uint8 / int8
// input holds a value that is not an integer of its type (see HostTensor).
int64_t check_inputs(const Graph& g, const std::vector<HostTensor>& inputs);

}  // namespace autocompress
