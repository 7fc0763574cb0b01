#include "api/input_limits.h"

#include "base/error.h"

namespace mms::api {

size_t CountCodePoints(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) ++n;  // count every byte that is not a continuation byte
  }
  return n;
}

void CheckTexts(const std::vector<std::string>& texts, const InputLimits& limits) {
  if (texts.size() > limits.max_texts) {
    ThrowInvalidArgument("too many texts: " + std::to_string(texts.size()) + " (limit " +
                         std::to_string(limits.max_texts) + ")");
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    const size_t chars = CountCodePoints(texts[i]);
    if (chars > limits.max_text_chars) {
      ThrowInvalidArgument("text " + std::to_string(i) + " has " + std::to_string(chars) +
                           " characters; the limit is " + std::to_string(limits.max_text_chars));
    }
  }
}

void CheckImageSize(size_t bytes, const InputLimits& limits) {
  if (bytes > limits.max_image_bytes) {
    throw Error(ErrorCode::kTooLarge, "image is " + std::to_string(bytes) + " bytes; the limit is " +
                                          std::to_string(limits.max_image_bytes));
  }
}

}  // namespace mms::api
