// NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0; C order only).
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   "\x93NUMPY", major, minor, header length (u16 LE in 1.0, u32 LE in 2.0/3.0), then a Python
//   dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded with spaces and a
//   newline so that the data starts 64-byte aligned.
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "data/dataset.hpp"

namespace autocompress::detail {
// Defined in idx.cpp, shared by the IDX and .npy readers.
std::string read_file_bytes(const std::string& path, size_t max_bytes);
void decode_elements(const unsigned char* p, int64_t n, char kind, int size, bool big_endian,
                     Array& a);
int64_t checked_data_size(const std::string& path, const Shape& shape, int elem_size,
                          size_t available);
}  // namespace autocompress::detail

namespace autocompress {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;

struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// The header for an error message: control bytes escaped, long headers cut.
std::string printable(const std::string& s) {
  constexpr size_t kMax = 200;
  std::string r;
  for (size_t k = 0; k < s.size() && k < kMax; ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    if (c >= 0x20 && c < 0x7F) {
      r += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      r += hex;
    }
  }
  return s.size() > kMax ? r + "..." : r;
}

// A recursive-descent parser for the small subset of Python literals an .npy header uses.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), s_(text) {}

  Header parse() {
    Header h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        h.descr = string_literal(), seen_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean(), seen_order = true;
      } else if (key == "shape") {
        h.shape = tuple(), seen_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the dict");
    if (!seen_descr || !seen_order || !seen_shape)
      fail(std::string("missing key '") +
           (!seen_descr   ? "descr"
            : !seen_order ? "fortran_order"
                          : "shape") +
           "'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(path_, "unparseable .npy header (" + what + " at offset " +
                               std::to_string(pos_) + "): " + printable(s_));
  }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) fail("expected a string");
    const char quote = s_[pos_++];
    const size_t end = s_.find(quote, pos_);
    if (end == std::string::npos) fail("unterminated string");
    std::string v = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return v;
  }
  bool boolean() {
    skip_space();
    for (const char* word : {"True", "False"}) {
      if (s_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return word[0] == 'T';
      }
    }
    fail("expected True or False");
  }
  int64_t integer() {
    skip_space();
    const size_t start = pos_;
    int64_t v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      const int digit = s_[pos_++] - '0';
      if (v > (INT64_MAX - digit) / 10) fail("dimension too large");
      v = v * 10 + digit;
    }
    if (pos_ == start) fail("expected a non-negative integer");
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 long, as old numpy wrote it
    return v;
  }
  Shape tuple() {
    Shape shape;
    expect('(');
    while (!peek(')')) {
      shape.push_back(integer());
      if (!peek(')')) expect(',');
    }
    expect(')');
    return shape;
  }

  const std::string& path_;
  const std::string s_;
  size_t pos_ = 0;
};

struct ElemType {
  char kind;
  int size;
  bool big_endian;
};

ElemType elem_type(const std::string& path, const std::string& descr) {
  static const char* const kSupported[] = {"<f4", "<f8", "|u1", "|i1", "<i4", "<i8"};
  // One-byte types have no byte order; numpy writes '|' but '<', '>' and '=' mean the same.
  const bool one_byte = descr.size() == 3 && descr[2] == '1';
  const char order = descr.empty() ? '?' : descr[0];
  const std::string body = descr.size() == 3 ? descr.substr(1) : "";
  bool known = false;
  for (const char* s : kSupported) known = known || body == std::string(s + 1);
  const bool order_ok = order == '<' || order == '>' || order == '=' || (one_byte && order == '|');
  if (!known || !order_ok)
    throw DataError(path,
                    "unsupported dtype '" + descr + "' (supported: <f4, <f8, |u1, |i1, <i4, <i8)");
  const bool big = order == '>' || (order == '=' && std::endian::native == std::endian::big);
  return {body[0], body[1] - '0', big && !one_byte};
}

}  // namespace

Array read_npy(const std::string& path) {
  const std::string bytes = detail::read_file_bytes(path, SIZE_MAX);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kMagicLen + 2 || bytes.compare(0, kMagicLen, kMagic) != 0)
    throw DataError(path, "bad magic: not a .npy file (expected \\x93NUMPY)");
  const unsigned major = p[6];
  if (major < 1 || major > 3)
    throw DataError(path, "unsupported .npy format version " + std::to_string(major) + "." +
                              std::to_string(p[7]));
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t prefix = kMagicLen + 2 + len_bytes;
  if (bytes.size() < prefix) throw DataError(path, "truncated .npy header");
  size_t header_len = 0;
  for (size_t k = len_bytes; k-- > 0;) header_len = header_len << 8 | p[kMagicLen + 2 + k];
  if (bytes.size() - prefix < header_len)
    throw DataError(path, "truncated .npy header: expected " + std::to_string(header_len) +
                              " bytes, got " + std::to_string(bytes.size() - prefix));

  const Header h = HeaderParser(path, bytes.substr(prefix, header_len)).parse();
  if (h.fortran_order)
    throw DataError(path, "Fortran-order arrays are not supported (save with C order)");
  const ElemType type = elem_type(path, h.descr);
  Array a;
  a.shape = h.shape;
  const size_t data = prefix + header_len;
  const int64_t n = detail::checked_data_size(path, a.shape, type.size, bytes.size() - data);
  detail::decode_elements(p + data, n, type.kind, type.size, type.big_endian, a);
  return a;
}

void write_npy(const std::string& path, const Shape& shape, const std::vector<float>& data) {
  const int64_t n = numel(shape);
  if (n != static_cast<int64_t>(data.size()))
    throw std::invalid_argument("write_npy: shape " + shape_str(shape) + " has " +
                                std::to_string(n) + " elements, got " +
                                std::to_string(data.size()) + " values");
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // numpy writes (3,) but (2, 3)
  if (shape.size() == 1) dims.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Version 1.0 has a 16-bit header length: pad with spaces so the data starts aligned.
  const size_t prefix = kMagicLen + 2 + 2;
  header.append(kAlign - (prefix + header.size() + 1) % kAlign, ' ');
  header += '\n';
  if (header.size() > 0xFFFF)
    throw DataError(path, "shape " + shape_str(shape) + " too long for a version 1.0 header");

  std::string bytes(kMagic, kMagicLen);
  for (const size_t c : {size_t(1), size_t(0), header.size() & 0xFF, header.size() >> 8})
    bytes.push_back(static_cast<char>(c));  // version 1.0, then the little-endian header length
  bytes += header;
  const size_t body = bytes.size();
  bytes.resize(body + data.size() * 4);
  for (size_t k = 0; k < data.size(); ++k) {
    const uint32_t u = std::bit_cast<uint32_t>(data[k]);
    for (int b = 0; b < 4; ++b)
      bytes[body + 4 * k + b] = static_cast<char>(u >> (8 * b));  // little endian
  }
  write_file_atomically(path, bytes);
}

}  // namespace autocompress
