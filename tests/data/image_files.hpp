// Test helpers: JPEG and PNG encoders (libjpeg-turbo, libpng) writing hand-made pixels to bytes,
// and a smooth test pattern, so the decoder tests need no fixture files.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

// jpeglib.h needs FILE and size_t declared before it (<cstdio> above).
#include <jpeglib.h>
#include <png.h>

#include "data/image.hpp"

namespace autocompress::testing {

// A smooth pattern with an edge: what JPEG reproduces closely at high quality.
inline Image pattern(int64_t w, int64_t h, int64_t channels) {
  Image img{w, h, channels, std::vector<uint8_t>(size_t(w * h * channels))};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < channels; ++c)
        img.pixels[size_t((y * w + x) * channels + c)] =
            uint8_t(x * 150 / std::max<int64_t>(w - 1, 1) + c * 25 + (y > h / 2 ? 40 : 0));
  return img;
}

// JPEG of `img` (1 gray, 3 RGB, 4 CMYK stored as given). 4:4:4 unless `subsample`.
inline std::string encode_jpeg(const Image& img, int quality = 95, bool subsample = false) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = JDIMENSION(img.width);
  c.image_height = JDIMENSION(img.height);
  c.input_components = int(img.channels);
  c.in_color_space = img.channels == 1 ? JCS_GRAYSCALE : img.channels == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  if (!subsample)
    for (int k = 0; k < c.num_components; ++k)
      c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
  jpeg_start_compress(&c, TRUE);
  const size_t stride = size_t(img.width * img.channels);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(img.pixels.data()) + stride * c.next_scanline;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  free(buf);
  return out;
}

struct PngSpec {
  int64_t width = 0, height = 0;
  int color_type = PNG_COLOR_TYPE_RGB;
  int bit_depth = 8;
  std::vector<uint8_t> rows;           // packed rows as PNG stores them (16-bit big-endian)
  std::vector<png_color> palette;      // PNG_COLOR_TYPE_PALETTE
  std::vector<uint8_t> palette_alpha;  // tRNS of a palette
  bool interlace = false;
};

inline PngSpec png_spec(int64_t w, int64_t h, int color_type, int bit_depth,
                        std::vector<uint8_t> rows) {
  PngSpec s;
  s.width = w, s.height = h, s.color_type = color_type, s.bit_depth = bit_depth;
  s.rows = std::move(rows);
  return s;
}

inline void png_append(png_structp png, png_bytep data, png_size_t n) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), n);
}

inline std::string encode_png(const PngSpec& s) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, png_append, nullptr);
  png_set_IHDR(png, info, png_uint_32(s.width), png_uint_32(s.height), s.bit_depth, s.color_type,
               s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!s.palette.empty()) png_set_PLTE(png, info, s.palette.data(), int(s.palette.size()));
  if (!s.palette_alpha.empty())
    png_set_tRNS(png, info, s.palette_alpha.data(), int(s.palette_alpha.size()), nullptr);
  png_write_info(png, info);
  const size_t stride = s.rows.size() / size_t(s.height);
  std::vector<png_bytep> rows;
  for (int64_t y = 0; y < s.height; ++y)
    rows.push_back(const_cast<uint8_t*>(s.rows.data()) + stride * size_t(y));
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

// An 8-bit PNG of `img` (1-4 channels).
inline std::string encode_png(const Image& img, bool interlace = false) {
  static const int kTypes[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGB_ALPHA};
  return encode_png(
      PngSpec{img.width, img.height, kTypes[img.channels - 1], 8, img.pixels, {}, {}, interlace});
}

}  // namespace autocompress::testing
