// Limits on what one request may carry, checked before any work is done on it. Together
// they bound one request's memory: at most max_images images of max_image_bytes each, each
// decoded within the server's pixel limit one at a time, and max_texts texts of
// max_text_chars code points (README, "Limits and hardening", gives the resulting figure).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mms::api {

struct InputLimits {
  size_t max_body_bytes = 64u << 20;   // whole request body
  size_t max_image_bytes = 10u << 20;  // one encoded image
  size_t max_images = 64;              // images per request
  size_t max_text_chars = 10000;       // Unicode code points per text
  size_t max_texts = 1000;             // texts per request
  size_t max_audio_bytes = 26214400;   // one uploaded audio file (OpenAI's 25 MiB)
};

// Throws Error(kInvalidArgument) for too many texts, a text that is not well-formed UTF-8
// (naming the text's index and the byte offset) or one over the length limit.
void CheckTexts(const std::vector<std::string>& texts, const InputLimits& limits);
// One text; `where` names it in messages ("text 3", "input[3]: the text").
void CheckText(std::string_view text, const InputLimits& limits, const std::string& where);
// Throws Error(kTooLarge) when an encoded image exceeds the byte limit.
void CheckImageSize(size_t bytes, const InputLimits& limits);
// Throws Error(kTooLarge) when a request carries more images than the limit.
void CheckImageCount(size_t images, const InputLimits& limits);

// The offset of the first byte that does not belong to well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), or npos when all of it does.
size_t FindInvalidUtf8(std::string_view bytes);
// Code points in well-formed UTF-8.
size_t CountCodePoints(std::string_view utf8);

}  // namespace mms::api
