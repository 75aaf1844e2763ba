#include "model/onnx_tensor.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>

#include "common/error.hpp"

namespace autocompress::onnx_loader {
namespace {

static_assert(std::endian::native == std::endian::little,
              "raw_data decoding assumes little endian");

using TP = onnx::TensorProto;

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal half: normalize
    int e = -1;
    do {
      ++e;
      man <<= 1;
    } while ((man & 0x400u) == 0);
    bits = sign | static_cast<uint32_t>(112 - e) << 23 | ((man & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

template <class T>
std::vector<T> raw_values(const std::string& raw) {
  std::vector<T> v(raw.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), raw.data(), v.size() * sizeof(T));
  return v;
}

template <class Src, class Dst>
void append_all(const Src& src, std::vector<Dst>& dst) {
  for (auto x : src) dst.push_back(static_cast<Dst>(x));
}

// Decodes integer data kept as raw bytes of type T or in int32_data.
template <class T>
void decode_small_ints(const TP& t, TensorData& d) {
  if (t.has_raw_data())
    append_all(raw_values<T>(t.raw_data()), d.i);
  else
    for (int32_t x : t.int32_data()) d.i.push_back(static_cast<T>(x));
}

void decode_16bit_floats(const TP& t, TensorData& d, float (*conv)(uint16_t)) {
  if (t.has_raw_data()) {
    for (uint16_t x : raw_values<uint16_t>(t.raw_data())) d.f.push_back(conv(x));
  } else {
    for (int32_t x : t.int32_data()) d.f.push_back(conv(static_cast<uint16_t>(x)));
  }
}

// The values of t into d, by data type; false for a type the loader does not read.
bool decode_values(const TP& t, TensorData& d) {
  const bool raw = t.has_raw_data();
  switch (t.data_type()) {
    case TP::FLOAT:
      if (raw)
        d.f = raw_values<float>(t.raw_data());
      else
        d.f.assign(t.float_data().begin(), t.float_data().end());
      break;
    case TP::DOUBLE:
      if (raw)
        append_all(raw_values<double>(t.raw_data()), d.f);
      else
        append_all(t.double_data(), d.f);
      break;
    case TP::FLOAT16:
      decode_16bit_floats(t, d, half_to_float);
      break;
    case TP::BFLOAT16:
      decode_16bit_floats(t, d, bf16_to_float);
      break;
    case TP::INT64:
      if (raw)
        d.i = raw_values<int64_t>(t.raw_data());
      else
        d.i.assign(t.int64_data().begin(), t.int64_data().end());
      break;
    case TP::INT32:
      decode_small_ints<int32_t>(t, d);
      break;
    case TP::INT8:
      decode_small_ints<int8_t>(t, d);
      break;
    case TP::UINT8:
      decode_small_ints<uint8_t>(t, d);
      break;
    case TP::BOOL:
      decode_small_ints<uint8_t>(t, d);
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace

TensorData decode_tensor(const TP& t, const std::string& where) {
  const std::string what = "tensor '" + t.name() + "'";
  if (t.data_location() == TP::EXTERNAL)
    throw UnsupportedError(where, "", what + " keeps its data in an external file");
  TensorData d;
  int64_t count = 1;
  for (int64_t dim : t.dims()) {
    if (dim < 0) throw ModelError(where, "", what + " has a negative dimension");
    if (__builtin_mul_overflow(count, dim, &count) || count > kMaxConstantElements)
      throw ModelError(where, "", what + " is implausibly large");
    d.shape.push_back(dim);
  }
  if (!decode_values(t, d))
    throw UnsupportedError(where, "",
                           what + " has data type " +
                               TP::DataType_Name(static_cast<TP::DataType>(t.data_type())) +
                               " (supported: float32/64/16, bfloat16, int64/32/8, uint8, bool)");
  d.dtype = static_cast<DType>(t.data_type());
  int64_t want = numel(d.shape);
  int64_t have = static_cast<int64_t>(d.is_float() ? d.f.size() : d.i.size());
  if (have != want)
    throw ModelError(where, "",
                     what + " has " + std::to_string(have) + " values, its shape " +
                         shape_str(d.shape) + " needs " + std::to_string(want));
  return d;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
  return st;
}

TensorData remap(const TensorData& src, const Shape& shape,
                 const std::function<int64_t(const std::vector<int64_t>&)>& map) {
  TensorData r;
  r.dtype = src.dtype;
  r.shape = shape;
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxConstantElements)
      throw std::length_error("constant folding would create a tensor of shape " +
                              shape_str(shape));
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t s = map(idx);
    if (src.is_float())
      r.f.push_back(src.f[s]);
    else
      r.i.push_back(src.i[s]);
    for (size_t k = shape.size(); k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return r;
}

double value_at(const TensorData& t, int64_t k) {
  return t.is_float() ? static_cast<double>(t.f[k]) : static_cast<double>(t.i[k]);
}

TensorData float_tensor(Shape shape, std::vector<float> values) {
  TensorData t;
  t.dtype = DType::kFloat;
  t.shape = std::move(shape);
  t.f = std::move(values);
  return t;
}

TensorData int_tensor(std::vector<int64_t> values) {
  TensorData t;
  t.dtype = DType::kInt64;
  t.shape = {static_cast<int64_t>(values.size())};
  t.i = std::move(values);
  return t;
}

TensorData as_float32(TensorData t) {
  if (t.is_float()) t.dtype = DType::kFloat;
  return t;
}

TensorData transpose2d(const TensorData& t) {
  return remap(t, {t.shape[1], t.shape[0]},
               [&](const std::vector<int64_t>& i) { return i[1] * t.shape[1] + i[0]; });
}

}  // namespace autocompress::onnx_loader
