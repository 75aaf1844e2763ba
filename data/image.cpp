#include "data/image.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/error.hpp"

namespace autocompress {

namespace {

std::string read_whole_file(const std::string& path) {
  const auto fail = [&](int err) {
    return DataError(path, std::string("cannot read image file: ") + std::strerror(err));
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw fail(errno);
  std::string bytes;
  char chunk[1 << 16];
  size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.append(chunk, got);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err) throw fail(err);
  return bytes;
}

// PIL's rgb2l: ITU-R 601-2 luma, L = (19595 R + 38470 G + 7471 B + 2^15) >> 16.
uint8_t luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

}  // namespace

std::string image_format(std::string_view b) {
  if (b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF") return "JPEG";
  if (b.size() >= 8 && b.substr(0, 8) == "\x89PNG\r\n\x1A\n") return "PNG";
  return "";
}

Image decode_image_bytes(std::string_view bytes, const std::string& name) {
  const std::string format = image_format(bytes);
  if (format == "JPEG") return detail::decode_jpeg(bytes, name);
  if (format == "PNG") return detail::decode_png(bytes, name);
  throw DataError(name, bytes.empty() ? "empty file, expected a JPEG or PNG image"
                                      : "not a JPEG or PNG image (unknown signature)");
}

Image decode_image(const std::string& path) {
  return decode_image_bytes(read_whole_file(path), path);
}

Image to_channels(Image img, int64_t channels) {
  if (channels != 1 && channels != 3)
    throw UsageError("images convert to 1 (gray) or 3 (RGB) channels, not " +
                     std::to_string(channels));
  const int64_t from = img.channels;
  if (from == channels) return img;
  const size_t n = static_cast<size_t>(img.width * img.height);
  Image out{img.width, img.height, channels, std::vector<uint8_t>(n * size_t(channels))};
  for (size_t p = 0; p < n; ++p) {
    const uint8_t* in = &img.pixels[p * size_t(from)];
    uint8_t* o = &out.pixels[p * size_t(channels)];
    if (channels == 1) {
      o[0] = from >= 3 ? luma(in) : in[0];
    } else if (from >= 3) {
      o[0] = in[0], o[1] = in[1], o[2] = in[2];
    } else {
      o[0] = o[1] = o[2] = in[0];
    }
  }
  return out;
}

}  // namespace autocompress
