#include "text/python_case.h"

#include <utf8proc.h>

#include <iterator>

namespace mms::text::internal {
namespace {

constexpr char32_t kCapitalSigma = 0x03A3;
constexpr char32_t kSmallSigma = 0x03C3;
constexpr char32_t kFinalSigma = 0x03C2;
constexpr char32_t kCapitalIWithDot = 0x0130;

bool InRanges(char32_t c, const char32_t (*ranges)[2], size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (c >= ranges[i][0] && c <= ranges[i][1]) return true;
  }
  return false;
}

// Unicode's Cased property: Lu, Ll, Lt plus the Other_Lowercase / Other_Uppercase code points
// that are not case-ignorable (those are skipped before Cased is ever asked). The list was
// checked against CPython's own answers for every code point.
bool IsCased(char32_t c) {
  static constexpr char32_t kOtherCased[][2] = {
      {0x00AA, 0x00AA}, {0x00BA, 0x00BA},   {0x2160, 0x217F},   {0x24B6, 0x24E9},
      {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
  };
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
      return true;
    default:
      return InRanges(c, kOtherCased, std::size(kOtherCased));
  }
}

// Unicode's Case_Ignorable property: Mn, Me, Cf, Lm, Sk and the Word_Break classes
// MidLetter, MidNumLet and Single_Quote (apostrophe, full stop, colon, middle dot, ...).
bool IsCaseIgnorable(char32_t c) {
  static constexpr char32_t kWordBreakMids[][2] = {
      {0x0027, 0x0027}, {0x002E, 0x002E}, {0x003A, 0x003A}, {0x00B7, 0x00B7},
      {0x0387, 0x0387}, {0x055F, 0x055F}, {0x05F4, 0x05F4}, {0x2018, 0x2019},
      {0x2024, 0x2024}, {0x2027, 0x2027}, {0xFE13, 0xFE13}, {0xFE52, 0xFE52},
      {0xFE55, 0xFE55}, {0xFF07, 0xFF07}, {0xFF0E, 0xFF0E}, {0xFF1A, 0xFF1A},
  };
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      return InRanges(c, kWordBreakMids, std::size(kWordBreakMids));
  }
}

// CPython's rule for U+03A3 at index i: final when a cased letter precedes it and none
// follows it, looking past case-ignorable code points in both directions.
bool IsFinalSigma(std::u32string_view text, size_t i) {
  size_t j = i;
  while (j > 0 && IsCaseIgnorable(text[j - 1])) --j;
  if (j == 0 || !IsCased(text[j - 1])) return false;
  size_t k = i + 1;
  while (k < text.size() && IsCaseIgnorable(text[k])) ++k;
  return k == text.size() || !IsCased(text[k]);
}

}  // namespace

bool IsPythonSpace(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::u32string PythonLower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    } else if (c == kCapitalIWithDot) {
      out.push_back(U'i');
      out.push_back(0x0307);  // COMBINING DOT ABOVE, from SpecialCasing.txt
    } else if (c == kCapitalSigma) {
      out.push_back(IsFinalSigma(text, i) ? kFinalSigma : kSmallSigma);
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

}  // namespace mms::text::internal
