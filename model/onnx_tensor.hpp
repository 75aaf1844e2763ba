// ONNX TensorProto decoding into TensorData, and the small tensor helpers the loader's constant
// folding and canonicalization share (N-d remapping, 2-D transpose, scalar access).
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress::onnx_loader {

// Largest tensor the loader decodes or folds (4 G elements, 16 GB as float32).
constexpr int64_t kMaxConstantElements = int64_t{1} << 32;

// TensorProto -> TensorData (float16 / bfloat16 / double read as float32 values, integers in
// TensorData::i). `where` names the file for messages. Throws ModelError (negative or implausible
// dimensions, a value count that does not fit the shape), UnsupportedError (external data, other
// data types).
TensorData decode_tensor(const onnx::TensorProto& t, const std::string& where);

// Row-major strides of a shape, in elements.
std::vector<int64_t> strides_of(const Shape& s);

// A tensor of `shape` whose element at index idx is src's element at flat index map(idx).
// Throws std::length_error when the result would exceed kMaxConstantElements.
TensorData remap(const TensorData& src, const Shape& shape,
                 const std::function<int64_t(const std::vector<int64_t>&)>& map);

// Element k as a double, whatever the type.
double value_at(const TensorData& t, int64_t k);

TensorData float_tensor(Shape shape, std::vector<float> values);
// A 1-D int64 tensor.
TensorData int_tensor(std::vector<int64_t> values);

// Weights are stored as float32 whatever the file used.
TensorData as_float32(TensorData t);

// Transpose of a 2-D tensor.
TensorData transpose2d(const TensorData& t);

}  // namespace autocompress::onnx_loader
