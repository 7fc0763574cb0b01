#include "api/input_limits.h"

#include "base/error.h"

namespace mms::api {

size_t FindInvalidUtf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
      return i;  // a continuation byte, C0/C1 or F5..FF where a sequence must start
    }
    if (i + length > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < length; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

size_t CountCodePoints(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

void CheckText(std::string_view text, const InputLimits& limits, const std::string& where) {
  // A code point takes at most 4 bytes: longer texts are refused before any scan.
  if (text.size() / 4 > limits.max_text_chars) {
    ThrowInvalidArgument(where + " is " + std::to_string(text.size()) +
                         " bytes, more than the limit of " + std::to_string(limits.max_text_chars) +
                         " characters can take");
  }
  if (const size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    ThrowInvalidArgument(where + " is not valid UTF-8 (byte offset " + std::to_string(bad) + ")");
  }
  const size_t chars = CountCodePoints(text);
  if (chars > limits.max_text_chars) {
    ThrowInvalidArgument(where + " has " + std::to_string(chars) + " characters; the limit is " +
                         std::to_string(limits.max_text_chars));
  }
}

void CheckTexts(const std::vector<std::string>& texts, const InputLimits& limits) {
  if (texts.size() > limits.max_texts) {
    ThrowInvalidArgument("too many texts: " + std::to_string(texts.size()) + " (limit " +
                         std::to_string(limits.max_texts) + ")");
  }
  for (size_t i = 0; i < texts.size(); ++i) CheckText(texts[i], limits, "text " + std::to_string(i));
}

void CheckImageSize(size_t bytes, const InputLimits& limits) {
  if (bytes > limits.max_image_bytes) {
    throw Error(ErrorCode::kTooLarge, "image is " + std::to_string(bytes) + " bytes; the limit is " +
                                          std::to_string(limits.max_image_bytes));
  }
}

void CheckImageCount(size_t images, const InputLimits& limits) {
  if (images > limits.max_images) {
    throw Error(ErrorCode::kTooLarge, "the request carries " + std::to_string(images) + " images; the limit is " +
                                          std::to_string(limits.max_images) + " per request");
  }
}

}  // namespace mms::api
