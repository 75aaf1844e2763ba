// IDX reader (the MNIST family's format), plus the byte-level helpers the .npy reader and the
// dataset loader share with it (see the `detail` declarations at the top of npy.cpp / dataset.cpp).
//
// IDX layout: two zero bytes, a type code byte, a rank byte, `rank` big-endian u32 dimensions,
// then the elements, big-endian, in C order.
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/dataset.hpp"

namespace autocompress::detail {

namespace {

std::string read_gzip(const std::string& path, size_t max_bytes) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
  gzbuffer(gz, 1 << 20);
  std::string out;
  char chunk[1 << 16];
  while (out.size() < max_bytes) {
    unsigned want = static_cast<unsigned>(std::min<size_t>(sizeof chunk, max_bytes - out.size()));
    int got = gzread(gz, chunk, want);
    if (got < 0) {
      int code = 0;
      std::string what = gzerror(gz, &code);
      gzclose(gz);
      throw DataError(path, "corrupt gzip stream: " + what);
    }
    if (got == 0) break;
    out.append(chunk, static_cast<size_t>(got));
  }
  // zlib reports a stream cut short (no gzip trailer) only through gzerror, after a short read.
  int code = Z_OK;
  std::string what = gzerror(gz, &code);
  gzclose(gz);
  if (code != Z_OK && code != Z_STREAM_END) throw DataError(path, "corrupt gzip stream: " + what);
  return out;
}

template <class U>
U load_uint(const unsigned char* p, bool big_endian) {
  U v = 0;
  for (size_t k = 0; k < sizeof(U); ++k) {
    size_t byte = big_endian ? k : sizeof(U) - 1 - k;
    v = static_cast<U>((v << 8) | p[byte]);
  }
  return v;
}

// Decodes `n` elements of type T (stored as its same-size unsigned U) into `out`.
template <class T, class U, class Out>
void decode_as(const unsigned char* p, int64_t n, bool big_endian, std::vector<Out>& out) {
  out.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k, p += sizeof(U))
    out[static_cast<size_t>(k)] = static_cast<Out>(std::bit_cast<T>(load_uint<U>(p, big_endian)));
}

}  // namespace

std::string read_file_bytes(const std::string& path, size_t max_bytes) {
  if (std::filesystem::is_directory(path)) throw IoError(path, "is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
  char magic[2] = {0, 0};
  in.read(magic, 2);
  if (in.gcount() == 2 && magic[0] == '\x1f' && magic[1] == '\x8b')
    return read_gzip(path, max_bytes);
  in.clear();
  in.seekg(0, std::ios::end);
  size_t size = static_cast<size_t>(in.tellg());
  std::string out(std::min(size, max_bytes), '\0');
  in.seekg(0);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (static_cast<size_t>(in.gcount()) != out.size()) throw IoError(path, "read failed");
  return out;
}

// kind: 'u' unsigned, 'i' signed, 'f' IEEE float; size in bytes. Integers land in `a.i`
// (dtype uint8 / int8 / int32 for int16 / int64), floats in `a.f` (dtype float32; float64 is
// rounded to float32). The caller has checked that `p` holds n * size bytes.
void decode_elements(const unsigned char* p, int64_t n, char kind, int size, bool big_endian,
                     Array& a) {
  const bool be = big_endian;
  switch (kind * 16 + size) {
    case 'u' * 16 + 1:
      a.dtype = DType::kUInt8;
      return decode_as<uint8_t, uint8_t>(p, n, be, a.i);
    case 'i' * 16 + 1:
      a.dtype = DType::kInt8;
      return decode_as<int8_t, uint8_t>(p, n, be, a.i);
    case 'i' * 16 + 2:  // DType has no int16; widened
      a.dtype = DType::kInt32;
      return decode_as<int16_t, uint16_t>(p, n, be, a.i);
    case 'i' * 16 + 4:
      a.dtype = DType::kInt32;
      return decode_as<int32_t, uint32_t>(p, n, be, a.i);
    case 'i' * 16 + 8:
      a.dtype = DType::kInt64;
      return decode_as<int64_t, uint64_t>(p, n, be, a.i);
    case 'f' * 16 + 4:
      a.dtype = DType::kFloat;
      return decode_as<float, uint32_t>(p, n, be, a.f);
    case 'f' * 16 + 8:
      a.dtype = DType::kFloat;
      return decode_as<double, uint64_t>(p, n, be, a.f);
  }
  throw std::invalid_argument("decode_elements: no element type " + std::string(1, kind) +
                              std::to_string(size));
}

// The element count of `shape` after checking that exactly count * elem_size bytes of data are
// available; DataError naming `path` otherwise. Overflow-safe against corrupt headers.
int64_t checked_data_size(const std::string& path, const Shape& shape, int elem_size,
                          size_t available) {
  const int64_t max_count = INT64_MAX / elem_size;
  const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
  int64_t n = empty ? 0 : 1;
  bool overflow = false;
  for (int64_t d : shape) {
    if (d < 0) throw DataError(path, "negative dimension in shape " + shape_str(shape));
    if (empty) continue;
    overflow = overflow || n > max_count / d;
    if (!overflow) n *= d;
  }
  const std::string need =
      overflow ? "more than " + std::to_string(INT64_MAX) : std::to_string(n * elem_size);
  const std::string sizes = "shape " + shape_str(shape) + " needs " + need +
                            " bytes of data, got " + std::to_string(available);
  if (overflow || static_cast<uint64_t>(n * elem_size) > available)
    throw DataError(path, "truncated: " + sizes);
  if (static_cast<uint64_t>(n * elem_size) < available)
    throw DataError(path, "trailing data: " + sizes);
  return n;
}

}  // namespace autocompress::detail

namespace autocompress {

namespace {

struct IdxType {
  char kind;
  int size;
};

IdxType idx_type(const std::string& path, unsigned code) {
  switch (code) {
    case 0x08:
      return {'u', 1};
    case 0x09:
      return {'i', 1};
    case 0x0B:
      return {'i', 2};
    case 0x0C:
      return {'i', 4};
    case 0x0D:
      return {'f', 4};
    case 0x0E:
      return {'f', 8};
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", code);
      throw DataError(path, std::string("unknown IDX type code ") + hex +
                                " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
    }
  }
}

}  // namespace

Array read_idx(const std::string& path) {
  const std::string bytes = detail::read_file_bytes(path, SIZE_MAX);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0) {
    char magic[16] = "";
    if (bytes.size() >= 4)
      std::snprintf(magic, sizeof magic, " 0x%02X%02X%02X%02X", p[0], p[1], p[2], p[3]);
    throw DataError(path, std::string("bad magic") + magic + ", not an IDX file");
  }
  const IdxType type = idx_type(path, p[2]);
  const size_t rank = p[3];
  const size_t header = 4 + 4 * rank;
  if (bytes.size() < header)
    throw DataError(path, "truncated header: expected " + std::to_string(header) + " bytes, got " +
                              std::to_string(bytes.size()));
  Array a;
  for (size_t d = 0; d < rank; ++d) {
    const unsigned char* q = p + 4 + 4 * d;
    a.shape.push_back((int64_t{q[0]} << 24) | (q[1] << 16) | (q[2] << 8) | q[3]);
  }
  const int64_t n = detail::checked_data_size(path, a.shape, type.size, bytes.size() - header);
  detail::decode_elements(p + header, n, type.kind, type.size, /*big_endian=*/true, a);
  return a;
}

}  // namespace autocompress
