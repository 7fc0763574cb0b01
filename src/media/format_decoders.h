// Per-format decoders behind DecodeImage, and the checks they share. Internal to media/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "media/image.h"
#include "media/image_decoder.h"

namespace mms::media::internal {

// Throws Error(kUnsupportedMedia) "<format>: <what>".
[[noreturn]] void ThrowCorrupt(const char* format, const std::string& what);

// Validates the dimensions read from a header before anything is allocated: zero or
// negative sizes are corrupt data (kUnsupportedMedia), more than limits.max_pixels
// pixels (or sizes that cannot be addressed) are kTooLarge.
void CheckDimensions(const char* format, int64_t width, int64_t height, const DecodeLimits& limits);

Image DecodeJpeg(std::string_view bytes, const DecodeLimits& limits);
Image DecodePng(std::string_view bytes, const DecodeLimits& limits);
Image DecodeBmp(std::string_view bytes, const DecodeLimits& limits);
Image DecodeWebp(std::string_view bytes, const DecodeLimits& limits);
Image DecodeGif(std::string_view bytes, const DecodeLimits& limits);

}  // namespace mms::media::internal
