// PNG decoding with libpng, to the pixels PIL's own PNG decoder gives: no gamma or colour
// management (PIL applies none), palette expanded, tRNS ignored outside palettes, 16-bit gray
// clipped to 255 (PIL's mode "I" converted to "L"/"RGB"), other 16-bit samples reduced to their
// high byte ("RGB;16B"). The whole file is read, IEND included: a truncated file is an error.
// libpng reports errors by longjmp; the decoding frame holds nothing that needs a destructor.
#include <png.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "common/error.hpp"
#include "data/image.hpp"

namespace autocompress::detail {

namespace {

struct Decoder {
  const unsigned char* data;
  size_t size, at;
  char message[256];
  png_structp png;
  png_infop info;
};

void on_error(png_structp png, png_const_charp what) {
  auto* d = static_cast<Decoder*>(png_get_error_ptr(png));
  std::snprintf(d->message, sizeof d->message, "%s", what);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

void read_bytes(png_structp png, png_bytep out, png_size_t n) {
  auto* d = static_cast<Decoder*>(png_get_io_ptr(png));
  if (d->size - d->at < n) png_error(png, "file ends early (truncated)");
  std::memcpy(out, d->data + d->at, n);
  d->at += n;
}

struct Transforms {
  bool gray16;  // 16-bit gray kept as big-endian 16-bit samples, for clipping
  int passes;   // 7 when interlaced
};

// Transformations to 8-bit gray, gray+alpha, RGB or RGBA (or 16-bit gray).
Transforms set_transforms(png_structp png, png_infop info) {
  const int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  const bool gray16 = type == PNG_COLOR_TYPE_GRAY && depth == 16;
  if (depth == 16 && !gray16) png_set_strip_16(png);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return {gray16, passes};
}

bool decompress(Decoder* d, Image* out) {
  if (setjmp(png_jmpbuf(d->png))) return false;
  png_set_read_fn(d->png, d, read_bytes);
  png_read_info(d->png, d->info);
  const Transforms t = set_transforms(d->png, d->info);
  out->width = png_get_image_width(d->png, d->info);
  out->height = png_get_image_height(d->png, d->info);
  out->channels = png_get_channels(d->png, d->info);
  const size_t stride = png_get_rowbytes(d->png, d->info);
  out->pixels.resize(stride * static_cast<size_t>(out->height));
  for (int pass = 0; pass < t.passes; ++pass)
    for (int64_t y = 0; y < out->height; ++y)
      png_read_row(d->png, out->pixels.data() + stride * static_cast<size_t>(y), nullptr);
  png_read_end(d->png, nullptr);
  if (t.gray16) {
    const size_t n = static_cast<size_t>(out->width * out->height);
    for (size_t p = 0; p < n; ++p) {
      const int v = out->pixels[2 * p] << 8 | out->pixels[2 * p + 1];
      out->pixels[p] = static_cast<uint8_t>(v > 255 ? 255 : v);
    }
    out->pixels.resize(n);
  }
  return true;
}

}  // namespace

Image decode_png(std::string_view bytes, const std::string& name) {
  Decoder d{};
  d.data = reinterpret_cast<const unsigned char*>(bytes.data());
  d.size = bytes.size();
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, on_error, on_warning);
  if (d.png) d.info = png_create_info_struct(d.png);
  if (!d.png || !d.info) {
    png_destroy_read_struct(&d.png, nullptr, nullptr);
    throw DataError(name, "cannot allocate a PNG decoder");
  }
  Image img;
  bool ok = false;
  try {
    ok = decompress(&d, &img);
  } catch (...) {
    png_destroy_read_struct(&d.png, &d.info, nullptr);
    throw;
  }
  png_destroy_read_struct(&d.png, &d.info, nullptr);
  if (!ok) throw DataError(name, std::string("corrupt or truncated PNG: ") + d.message);
  return img;
}

}  // namespace autocompress::detail
