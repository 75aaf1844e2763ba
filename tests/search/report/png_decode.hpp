// A tiny PNG reader for the tests (8-bit RGB / RGBA, non-interlaced: what headless Chromium's
// --screenshot writes): chunks -> IDAT inflated with zlib -> scanline filters undone (PNG spec,
// section 9). Returns RGB pixels; throws std::runtime_error on anything else.
#pragma once

#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace autocompress::testing {

struct Image {
  int width = 0, height = 0;
  std::vector<std::array<uint8_t, 3>> rgb;  // row-major
  const std::array<uint8_t, 3>& at(int x, int y) const { return rgb[size_t(y) * width + x]; }
};

inline uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

inline uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return uint8_t(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

// Undoes the per-scanline filters in place; `bpp` bytes per pixel.
inline void unfilter(std::vector<uint8_t>& raw, int width, int height, int bpp,
                     std::vector<uint8_t>& out) {
  const size_t stride = size_t(width) * bpp;
  out.assign(stride * height, 0);
  for (int y = 0; y < height; ++y) {
    const uint8_t type = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* row = &out[y * stride];
    const uint8_t* up = y ? &out[(y - 1) * stride] : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= size_t(bpp) ? row[i - bpp] : 0, b = up ? up[i] : 0;
      const int c = up && i >= size_t(bpp) ? up[i - bpp] : 0;
      const int pred = type == 0   ? 0
                       : type == 1 ? a
                       : type == 2 ? b
                       : type == 3 ? (a + b) / 2
                                   : paeth(a, b, c);
      if (type > 4) throw std::runtime_error("png: bad filter type");
      row[i] = uint8_t(in[i] + pred);
    }
  }
}

inline Image read_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::vector<uint8_t> d((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
  if (d.size() < 8 || d[1] != 'P' || d[2] != 'N' || d[3] != 'G')
    throw std::runtime_error("png: not a PNG: " + path);
  Image img;
  int bpp = 0;
  std::vector<uint8_t> idat;
  for (size_t p = 8; p + 12 <= d.size();) {
    const uint32_t len = be32(&d[p]);
    const std::string type(d.begin() + long(p) + 4, d.begin() + long(p) + 8);
    const uint8_t* body = &d[p + 8];
    if (type == "IHDR") {
      img.width = int(be32(body)), img.height = int(be32(body + 4));
      if (body[8] != 8 || (body[9] != 2 && body[9] != 6) || body[12] != 0)
        throw std::runtime_error("png: only 8-bit RGB/RGBA non-interlaced");
      bpp = body[9] == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      idat.insert(idat.end(), body, body + len);
    }
    p += 12 + len;
  }
  std::vector<uint8_t> raw((size_t(img.width) * bpp + 1) * img.height), px;
  uLongf n = raw.size();
  if (bpp == 0 || uncompress(raw.data(), &n, idat.data(), idat.size()) != Z_OK || n != raw.size())
    throw std::runtime_error("png: cannot inflate " + path);
  unfilter(raw, img.width, img.height, bpp, px);
  img.rgb.resize(size_t(img.width) * img.height);
  for (size_t i = 0; i < img.rgb.size(); ++i)
    img.rgb[i] = {px[i * bpp], px[i * bpp + 1], px[i * bpp + 2]};
  return img;
}

}  // namespace autocompress::testing
