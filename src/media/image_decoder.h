// Image decoding: bytes in, an Image in the mode PIL would open it in.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "media/image.h"

namespace mms::media {

// Decompression-bomb guard: checked against the input size first and against the
// dimensions in the header before any pixel memory is allocated. max_pixels is capped at
// 2^30 (a gigapixel) whatever its value.
struct DecodeLimits {
  size_t max_bytes = 10u << 20;
  uint64_t max_pixels = 50'000'000;
};

// Detects the format from the magic bytes (JPEG, PNG, BMP, WebP, GIF - first frame) and
// decodes it the way PIL's Image.open + load does:
//   JPEG  -> L / RGB / CMYK (libjpeg-turbo, ISLOW IDCT, fancy upsampling; EXIF ignored)
//   PNG   -> 1 / L / LA / P / RGB / RGBA / I;16 (16-bit RGB(A) and gray+alpha keep the
//            high byte, as PIL's RGB;16B / RGBA;16B / LA;16B raw modes do; gray+alpha
//            16-bit opens as RGBA like in PIL; gAMA/iCCP ignored)
//   BMP   -> RGB (24-bit, 32-bit BI_RGB), RGBA/RGB (32-bit bitfields), P / L / 1 (1, 4, 8-bit)
//   WebP  -> RGB, or RGBA when the file has alpha (first frame of an animation)
//   GIF   -> P, or L when the palette is the identity gray ramp (first frame only)
// Unknown format or corrupt/truncated data -> Error(kUnsupportedMedia, what failed);
// over a limit -> Error(kTooLarge, ...).
Image DecodeImage(std::string_view bytes, const DecodeLimits& limits = {});

// What one request has left of its pixel limit, shared by the threads that decode its
// images at the same time.
class PixelBudget {
 public:
  explicit PixelBudget(uint64_t limit) : limit_(limit), left_(limit) {}
  uint64_t limit() const { return limit_; }
  uint64_t left() const { return left_.load(std::memory_order_relaxed); }
  // Takes n pixels, or nothing and false when fewer than n are left.
  bool Take(uint64_t n);

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> left_;
};

// DecodeImage within what is left of a request's pixel budget as well: what the budget has
// left lowers limits.max_pixels, an image over it is Error(kTooLarge) naming the
// per-request limit, and the image's pixels are taken from it (an image that other
// threads' images of the request outran while it decoded fails the same way).
// budget null: DecodeImage alone.
Image DecodeImageWithinRequest(std::string_view bytes, const DecodeLimits& limits, PixelBudget* budget);

}  // namespace mms::media
