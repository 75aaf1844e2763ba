#include "evaluator/executor.hpp"

#include <cmath>
#include <string>

#include "common/error.hpp"

namespace autocompress {

namespace {

// "[4,1,28,28]" for a concrete shape (shape_str would print a literal -1 as "N").
std::string concrete_str(const Shape& s) {
  std::string r = "[";
  for (size_t k = 0; k < s.size(); ++k) r += (k ? "," : "") + std::to_string(s[k]);
  return r + "]";
}

// Values of a uint8 / int8 input must be integers of that type (HostTensor carries them as float).
void check_integer_values(const std::string& name, DType type, const std::vector<float>& data) {
  if (type != DType::kUInt8 && type != DType::kInt8) return;
  const float lo = type == DType::kUInt8 ? 0.0f : -128.0f, hi = type == DType::kUInt8 ? 255 : 127;
  for (size_t k = 0; k < data.size(); ++k)
    if (!(data[k] >= lo && data[k] <= hi) || data[k] != std::nearbyint(data[k]))
      throw DataError("", "input '" + name + "' is " + dtype_name(type) + " but element " +
                              std::to_string(k) + " is " + std::to_string(data[k]));
}

}  // namespace

int64_t check_inputs(const Graph& g, const std::vector<HostTensor>& inputs) {
  if (inputs.size() != g.inputs.size())
    throw DataError("", "the model has " + std::to_string(g.inputs.size()) + " input(s), got " +
                            std::to_string(inputs.size()) + " tensor(s)");
  if (inputs.empty()) return 1;
  if (inputs[0].shape.empty())
    throw DataError("", "input '" + g.inputs[0] + "' is a scalar; the model expects " +
                            shape_str(g.value(g.inputs[0]).shape));
  const int64_t batch = inputs[0].shape[0];
  for (size_t k = 0; k < inputs.size(); ++k) {
    const HostTensor& t = inputs[k];
    const Shape& expected = g.value(g.inputs[k]).shape;
    if (t.shape != with_batch(expected, batch))
      throw DataError("", "input '" + g.inputs[k] + "' has shape " + concrete_str(t.shape) +
                              "; the model expects " + shape_str(expected));
    bool negative = false;
    for (int64_t d : t.shape) negative |= d < 0;
    if (negative || static_cast<int64_t>(t.data.size()) != numel(t.shape))
      throw DataError("", "input '" + g.inputs[k] + "' has shape " + concrete_str(t.shape) +
                              " but " + std::to_string(t.data.size()) + " values");
    check_integer_values(g.inputs[k], g.value(g.inputs[k]).dtype, t.data);
  }
  return batch;
}

}  // namespace autocompress
