// Limits on what one request may carry, checked before any work is done on it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mms::api {

struct InputLimits {
  size_t max_body_bytes = 64u << 20;   // whole request body
  size_t max_image_bytes = 10u << 20;  // one encoded image
  size_t max_text_chars = 10000;       // Unicode code points per text
  size_t max_texts = 1000;             // texts per request
};

// Throws Error(kInvalidArgument) for too many texts or a text over the length limit.
void CheckTexts(const std::vector<std::string>& texts, const InputLimits& limits);
// Throws Error(kTooLarge) when an encoded image exceeds the byte limit.
void CheckImageSize(size_t bytes, const InputLimits& limits);

// Number of code points in UTF-8 text (invalid bytes count one each).
size_t CountCodePoints(std::string_view utf8);

}  // namespace mms::api
