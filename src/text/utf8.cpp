#include "text/utf8.h"

#include <cstdint>

namespace mms::text::internal {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Reads one well-formed sequence at bytes[pos]. On success returns its length and sets
// *cp; on failure returns 0 and sets *bad_length to the length of the maximal ill-formed
// subpart (at least 1), following the Unicode "well-formed byte sequences" table.
size_t ReadSequence(std::string_view bytes, size_t pos, char32_t* cp, size_t* bad_length) {
  const auto byte_at = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  const uint8_t lead = byte_at(pos);
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  }
  size_t length;
  uint8_t second_min = 0x80, second_max = 0xBF;
  char32_t value;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    value = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    value = lead & 0x0F;
    if (lead == 0xE0) second_min = 0xA0;  // no overlong forms
    if (lead == 0xED) second_max = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    value = lead & 0x07;
    if (lead == 0xF0) second_min = 0x90;  // no overlong forms
    if (lead == 0xF4) second_max = 0x8F;  // nothing past U+10FFFF
  } else {
    *bad_length = 1;  // 0x80..0xC1 and 0xF5..0xFF never start a sequence
    return 0;
  }
  for (size_t k = 1; k < length; ++k) {
    const uint8_t lo = k == 1 ? second_min : 0x80;
    const uint8_t hi = k == 1 ? second_max : 0xBF;
    if (pos + k >= bytes.size() || byte_at(pos + k) < lo || byte_at(pos + k) > hi) {
      *bad_length = k;
      return 0;
    }
    value = (value << 6) | (byte_at(pos + k) & 0x3F);
  }
  *cp = value;
  return length;
}

}  // namespace

std::u32string DecodeUtf8Lossy(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    char32_t cp;
    size_t bad_length = 0;
    const size_t length = ReadSequence(bytes, pos, &cp, &bad_length);
    if (length == 0) {
      out.push_back(kReplacement);
      pos += bad_length;
    } else {
      out.push_back(cp);
      pos += length;
    }
  }
  return out;
}

bool DecodeUtf8Strict(std::string_view bytes, std::u32string* out) {
  out->clear();
  size_t pos = 0;
  while (pos < bytes.size()) {
    char32_t cp;
    size_t bad_length = 0;
    const size_t length = ReadSequence(bytes, pos, &cp, &bad_length);
    if (length == 0) return false;
    out->push_back(cp);
    pos += length;
  }
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string EncodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) AppendUtf8(cp, &out);
  return out;
}

}  // namespace mms::text::internal
