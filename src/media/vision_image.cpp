#include "media/vision_image.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace mms::media {

namespace {

// PIL's ImagingAlphaComposite for one channel over an opaque destination (alpha 255):
// its 7-bit fixed-point blend, divided by 255 with its shift approximation.
uint8_t OverOpaque(uint32_t src, uint32_t alpha, uint32_t dst) {
  constexpr uint32_t kPrecisionBits = 7;
  const uint32_t coef1 = alpha << kPrecisionBits;           // src.a * 255 * 255 * 128 / (255 * 255)
  const uint32_t coef2 = (255u << kPrecisionBits) - coef1;
  const uint32_t t = src * coef1 + dst * coef2 + (0x80u << kPrecisionBits);
  return static_cast<uint8_t>((((t >> 8) + t) >> 8) >> kPrecisionBits);
}

bool HasAlpha(const Image& image) {
  return image.mode == ImageMode::kRGBA || image.mode == ImageMode::kLA ||
         (image.mode == ImageMode::kP && !image.palette_alpha.empty());
}

}  // namespace

Image CompositeOnWhite(const Image& image) {
  if (!HasAlpha(image)) return ConvertToRGB(image);
  if (!image.IsConsistent()) ThrowInvalidArgument("CompositeOnWhite: inconsistent image");
  Image out(ImageMode::kRGB, image.width, image.height);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* src = image.Row(y);
    uint8_t* dst = out.Row(y);
    for (int x = 0; x < image.width; ++x) {
      uint8_t r, g, b, a;
      switch (image.mode) {
        case ImageMode::kRGBA: r = src[4 * x], g = src[4 * x + 1], b = src[4 * x + 2], a = src[4 * x + 3]; break;
        case ImageMode::kLA: r = g = b = src[2 * x], a = src[2 * x + 1]; break;
        default: {  // kP with per-entry alpha
          const uint8_t i = src[x];
          r = image.palette[3 * i], g = image.palette[3 * i + 1], b = image.palette[3 * i + 2];
          a = i < image.palette_alpha.size() ? image.palette_alpha[i] : 255;
        }
      }
      if (a == 0) {  // PIL copies the destination
        dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = 255;
      } else {
        dst[3 * x] = OverOpaque(r, a, 255);
        dst[3 * x + 1] = OverOpaque(g, a, 255);
        dst[3 * x + 2] = OverOpaque(b, a, 255);
      }
    }
  }
  return out;
}

Image PadToSquare(const Image& rgb, const std::array<uint8_t, 3>& fill) {
  if (rgb.mode != ImageMode::kRGB || !rgb.IsConsistent()) ThrowInvalidArgument("PadToSquare: expects an RGB image");
  if (rgb.width == rgb.height) return rgb;
  const int side = std::max(rgb.width, rgb.height);
  Image out(ImageMode::kRGB, side, side);
  for (int y = 0; y < side; ++y) {
    uint8_t* row = out.Row(y);
    for (int x = 0; x < side; ++x) std::memcpy(row + 3 * x, fill.data(), 3);
  }
  const int dx = (side - rgb.width) / 2, dy = (side - rgb.height) / 2;
  for (int y = 0; y < rgb.height; ++y) std::memcpy(out.Row(y + dy) + 3 * dx, rgb.Row(y), rgb.stride());
  return out;
}

}  // namespace mms::media
