// Format sniffing and the limits shared by all decoders.
#include "media/image_decoder.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/error.h"
#include "media/format_decoders.h"

namespace mms::media {

namespace internal {

void ThrowCorrupt(const char* format, const std::string& what) {
  ThrowUnsupportedMedia(std::string(format) + ": " + what);
}

void CheckDimensions(const char* format, int64_t width, int64_t height, const DecodeLimits& limits) {
  if (width <= 0 || height <= 0) {
    ThrowCorrupt(format, "invalid image size " + std::to_string(width) + "x" + std::to_string(height));
  }
  // Sizes are kept in int. Whatever limit the caller sets, a gigapixel is the ceiling: no
  // request is served from such an image, and a lifted limit must not turn into a
  // multi-gigabyte allocation.
  constexpr int64_t kMaxSide = 1 << 30;
  constexpr uint64_t kHardMaxPixels = uint64_t{1} << 30;
  const uint64_t max_pixels = std::min<uint64_t>(limits.max_pixels, kHardMaxPixels);
  const bool too_wide = width > kMaxSide || height > kMaxSide;
  if (too_wide || static_cast<uint64_t>(width) * static_cast<uint64_t>(height) > max_pixels) {
    throw Error(ErrorCode::kTooLarge, std::string(format) + ": image is " + std::to_string(width) + "x" +
                                          std::to_string(height) + " pixels, over the limit of " +
                                          std::to_string(max_pixels) + " pixels");
  }
}

}  // namespace internal

namespace {

bool StartsWith(std::string_view bytes, std::string_view magic) {
  return bytes.size() >= magic.size() && std::memcmp(bytes.data(), magic.data(), magic.size()) == 0;
}

}  // namespace

Image DecodeImage(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.empty()) ThrowUnsupportedMedia("image: empty input");
  if (bytes.size() > limits.max_bytes) {
    throw Error(ErrorCode::kTooLarge, "image: " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                                          std::to_string(limits.max_bytes) + " bytes");
  }
  if (StartsWith(bytes, "\xFF\xD8\xFF")) return internal::DecodeJpeg(bytes, limits);
  if (StartsWith(bytes, "\x89PNG\r\n\x1A\n")) return internal::DecodePng(bytes, limits);
  if (StartsWith(bytes, "GIF87a") || StartsWith(bytes, "GIF89a")) return internal::DecodeGif(bytes, limits);
  if (StartsWith(bytes, "RIFF") && bytes.size() >= 12 && bytes.substr(8, 4) == "WEBP") {
    return internal::DecodeWebp(bytes, limits);
  }
  if (StartsWith(bytes, "BM")) return internal::DecodeBmp(bytes, limits);
  ThrowUnsupportedMedia("image: unrecognized format (expected JPEG, PNG, BMP, WebP or GIF)");
}

bool PixelBudget::Take(uint64_t n) {
  uint64_t left = left_.load(std::memory_order_relaxed);
  do {
    if (n > left) return false;
  } while (!left_.compare_exchange_weak(left, left - n, std::memory_order_relaxed));
  return true;
}

Image DecodeImageWithinRequest(std::string_view bytes, const DecodeLimits& limits, PixelBudget* budget) {
  if (!budget) return DecodeImage(bytes, limits);
  const auto over_request = [&] {
    return Error(ErrorCode::kTooLarge, "the request's images together have more than " +
                                           std::to_string(budget->limit()) + " pixels (the per-request limit)");
  };
  DecodeLimits bound = limits;
  const uint64_t left = budget->left();
  const bool request_bound = left < bound.max_pixels;
  if (request_bound) bound.max_pixels = std::max<uint64_t>(left, 1);
  Image image;
  try {
    image = DecodeImage(bytes, bound);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kTooLarge || !request_bound) throw;
    throw over_request();
  }
  if (!budget->Take(static_cast<uint64_t>(image.width) * static_cast<uint64_t>(image.height))) throw over_request();
  return image;
}

}  // namespace mms::media
