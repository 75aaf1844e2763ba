// JPEG decoding with libjpeg-turbo, with the library's defaults (integer DCT, fancy upsampling):
// PIL decodes with the same defaults, so both give the same pixels with the same library.
// libjpeg reports errors by longjmp; the decoding frame holds nothing that needs a destructor.
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>

// jpeglib.h needs FILE and size_t declared before it (<cstdio> above).
#include <jerror.h>
#include <jpeglib.h>

#include "common/error.hpp"
#include "data/image.hpp"

namespace autocompress::detail {

namespace {

struct Decoder {
  jpeg_error_mgr mgr;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool unsupported;
  jpeg_decompress_struct cinfo;
};

[[noreturn]] void fail(j_common_ptr c) {
  auto* d = reinterpret_cast<Decoder*>(c->err);
  (*c->err->format_message)(c, d->message);
  std::longjmp(d->jump, 1);
}

// Warnings that mean some pixels are not the file's (truncated file, damaged entropy-coded
// data) are errors. Stray bytes between markers are tolerated, as PIL tolerates them.
void on_message(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  const int code = c->err->msg_code;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE) fail(c);
}

// Decodes into `out` (1, 3 or 4 channels, CMYK as stored). False with d->message set on error.
bool decompress(const unsigned char* data, size_t size, Image* out, Decoder* d) {
  j_decompress_ptr cinfo = &d->cinfo;
  cinfo->err = jpeg_std_error(&d->mgr);
  d->mgr.error_exit = fail;
  d->mgr.emit_message = on_message;
  if (setjmp(d->jump)) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  const int components = cinfo->num_components;
  if (cinfo->jpeg_color_space == JCS_GRAYSCALE && components == 1) {
    cinfo->out_color_space = JCS_GRAYSCALE;
  } else if ((cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) &&
             components == 4) {
    cinfo->out_color_space = JCS_CMYK;
  } else if (components == 3) {
    cinfo->out_color_space = JCS_RGB;
  } else {
    std::snprintf(d->message, sizeof d->message, "%d colour components", components);
    d->unsupported = true;
    return false;
  }
  jpeg_start_decompress(cinfo);
  out->width = cinfo->output_width;
  out->height = cinfo->output_height;
  out->channels = cinfo->output_components;
  const size_t stride = static_cast<size_t>(out->width * out->channels);
  out->pixels.resize(stride * static_cast<size_t>(out->height));
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = out->pixels.data() + stride * cinfo->output_scanline;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

// PIL reads CMYK JPEGs with Adobe polarity (inverted, "CMYK;I") and converts to RGB as
// R = (255 - K) - (C (255 - K)) / 255, in its fixed-point division by 255.
void cmyk_to_rgb(Image& img) {
  const auto muldiv255 = [](int a, int b) {
    const int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  const size_t n = static_cast<size_t>(img.width * img.height);
  for (size_t p = 0; p < n; ++p) {
    const uint8_t* in = &img.pixels[4 * p];
    const int nk = in[3];  // 255 - k with k = 255 - stored
    for (int c = 0; c < 3; ++c) img.pixels[3 * p + c] = uint8_t(nk - muldiv255(255 - in[c], nk));
  }
  img.pixels.resize(3 * n);
  img.channels = 3;
}

}  // namespace

Image decode_jpeg(std::string_view bytes, const std::string& name) {
  Decoder d{};
  Image img;
  bool ok = false;
  try {
    ok = decompress(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), &img, &d);
  } catch (...) {
    jpeg_destroy_decompress(&d.cinfo);
    throw;
  }
  jpeg_destroy_decompress(&d.cinfo);
  if (d.unsupported)
    throw DataError(name, std::string("JPEG with ") + d.message +
                              " is not supported (expected gray, YCbCr/RGB or CMYK)");
  if (!ok) throw DataError(name, std::string("corrupt or truncated JPEG: ") + d.message);
  if (img.channels == 4) cmyk_to_rgb(img);
  return img;
}

}  // namespace autocompress::detail
