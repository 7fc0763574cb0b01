#include "media/image.h"

#include <cstring>

#include "base/error.h"

namespace mms::media {

const char* ImageModeName(ImageMode mode) {
  switch (mode) {
    case ImageMode::kBilevel: return "1";
    case ImageMode::kL: return "L";
    case ImageMode::kLA: return "LA";
    case ImageMode::kP: return "P";
    case ImageMode::kRGB: return "RGB";
    case ImageMode::kRGBA: return "RGBA";
    case ImageMode::kI16: return "I;16";
    case ImageMode::kCMYK: return "CMYK";
  }
  return "?";
}

int BytesPerPixel(ImageMode mode) {
  switch (mode) {
    case ImageMode::kBilevel:
    case ImageMode::kL:
    case ImageMode::kP: return 1;
    case ImageMode::kLA:
    case ImageMode::kI16: return 2;
    case ImageMode::kRGB: return 3;
    case ImageMode::kRGBA:
    case ImageMode::kCMYK: return 4;
  }
  return 1;
}

Image::Image(ImageMode image_mode, int image_width, int image_height)
    : mode(image_mode), width(image_width), height(image_height) {
  if (width < 0 || height < 0) ThrowInternal("Image: negative size");
  pixels.assign(stride() * static_cast<size_t>(height), 0);
  if (mode == ImageMode::kP) palette.assign(768, 0);
}

bool Image::IsConsistent() const {
  if (width < 0 || height < 0) return false;
  if (pixels.size() != stride() * static_cast<size_t>(height)) return false;
  return mode != ImageMode::kP || palette.size() == 768;
}

namespace {

// PIL's MULDIV255: a * b / 255 rounded, without a division.
inline int MulDiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

inline uint8_t Clip8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

}  // namespace

void ConvertRowToRGB(const Image& image, int y, int x, int count, uint8_t* rgb) {
  const uint8_t* in = image.Row(y) + static_cast<size_t>(x) * BytesPerPixel(image.mode);
  switch (image.mode) {
    case ImageMode::kRGB:
      std::memcpy(rgb, in, static_cast<size_t>(count) * 3);
      return;
    case ImageMode::kRGBA:
      for (int i = 0; i < count; ++i, in += 4, rgb += 3) {
        rgb[0] = in[0];
        rgb[1] = in[1];
        rgb[2] = in[2];
      }
      return;
    case ImageMode::kBilevel:  // stored as 0/255 already
    case ImageMode::kL:
      for (int i = 0; i < count; ++i, rgb += 3) rgb[0] = rgb[1] = rgb[2] = in[i];
      return;
    case ImageMode::kLA:
      for (int i = 0; i < count; ++i, in += 2, rgb += 3) rgb[0] = rgb[1] = rgb[2] = in[0];
      return;
    case ImageMode::kP: {
      const uint8_t* pal = image.palette.data();
      for (int i = 0; i < count; ++i, rgb += 3) std::memcpy(rgb, pal + 3 * in[i], 3);
      return;
    }
    case ImageMode::kI16:
      // PIL's I;16 -> RGB (and I;16 -> L) saturates: any value above 255 becomes 255.
      for (int i = 0; i < count; ++i, in += 2, rgb += 3) rgb[0] = rgb[1] = rgb[2] = in[1] ? 255 : in[0];
      return;
    case ImageMode::kCMYK:
      for (int i = 0; i < count; ++i, in += 4, rgb += 3) {
        const int not_k = 255 - in[3];
        for (int c = 0; c < 3; ++c) rgb[c] = Clip8(not_k - MulDiv255(in[c], not_k));
      }
      return;
  }
}

Image ConvertToRGB(const Image& image) {
  if (!image.IsConsistent()) ThrowInvalidArgument("ConvertToRGB: image buffers do not match its size and mode");
  Image out(ImageMode::kRGB, image.width, image.height);
  for (int y = 0; y < image.height; ++y) ConvertRowToRGB(image, y, 0, image.width, out.Row(y));
  return out;
}

}  // namespace mms::media
