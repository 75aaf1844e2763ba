// Image files: JPEG (libjpeg-turbo) and PNG (libpng) decoded to 8-bit pixels, and the channel
// conversions PIL's Image.convert does, so that a decoded image equals what torchvision's
// ImageFolder loader (PIL, then convert("RGB") or convert("L")) sees. EXIF orientation is
// ignored, as PIL's loader ignores it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace autocompress {

// An 8-bit image, rows top to bottom, channels interleaved: 1 gray, 2 gray+alpha, 3 RGB,
// 4 RGBA.
struct Image {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels
};

// The file's image as stored (1-4 channels). The format is decided by the first bytes, not the
// name. JPEG: grayscale, YCbCr and RGB as 1 or 3 channels; CMYK converted to RGB as PIL does
// (Adobe polarity). PNG: palette expanded; 1/2/4-bit gray expanded to 8 bits; 16-bit samples
// reduced to their high byte, except 16-bit gray, clipped to 255 as PIL's "I" -> "L" does.
// DataError naming `path` for an unreadable, unknown, corrupt or truncated file.
Image decode_image(const std::string& path);
// The same from bytes in memory; `name` is the file named in errors.
Image decode_image_bytes(std::string_view bytes, const std::string& name);

// `img` as 1 (gray) or 3 (RGB) channels, as PIL's convert("L") / convert("RGB"): alpha dropped,
// gray replicated, RGB to gray by ITU-R 601-2 luma in PIL's fixed point. UsageError for another
// count.
Image to_channels(Image img, int64_t channels);

// "JPEG" / "PNG" when the bytes start with that format's signature, else empty.
std::string image_format(std::string_view bytes);

namespace detail {
// Defined in jpeg.cpp / png.cpp; `name` for errors. The bytes must have the format's signature.
Image decode_jpeg(std::string_view bytes, const std::string& name);
Image decode_png(std::string_view bytes, const std::string& name);
}  // namespace detail

}  // namespace autocompress
