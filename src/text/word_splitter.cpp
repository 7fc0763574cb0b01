#include "text/word_splitter.h"

#include <utf8proc.h>

namespace mms::text::internal {
namespace {

enum class CharClass { kSkipped, kLetter, kNumber, kOther };

CharClass Classify(char32_t c) {
  if (c < 0x80) {  // the common case, without a table look-up
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CharClass::kLetter;
    if (c >= '0' && c <= '9') return CharClass::kNumber;
    if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return CharClass::kSkipped;
    return CharClass::kOther;
  }
  // The `regex` module's \s (Unicode White_Space; unlike str.isspace() it leaves out
  // U+001C..U+001F). Clean text holds no whitespace but ' ', this keeps the splitter exact
  // for any input.
  if (c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
      c == 0x202F || c == 0x205F || c == 0x3000) {
    return CharClass::kSkipped;
  }
  // COMBINING GREEK YPOGEGRAMMENI case-folds to a Greek letter, so under IGNORECASE the
  // pattern's classes neither count it a letter nor "not a letter": no alternative matches
  // it, and like whitespace it is skipped.
  if (c == 0x0345) return CharClass::kSkipped;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    default:
      return CharClass::kOther;
  }
}

// Case-insensitive comparison with an ASCII literal as the `regex` module does it (simple case
// folding): ASCII letters in either case, and LATIN SMALL LETTER LONG S 'ſ' folds to 's'.
bool MatchesLiteral(std::u32string_view text, size_t pos, std::u32string_view literal) {
  if (text.size() - pos < literal.size()) return false;
  for (size_t k = 0; k < literal.size(); ++k) {
    char32_t c = text[pos + k];
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if (c == 0x017F) c = U's';
    if (c != literal[k]) return false;
  }
  return true;
}

// Length of the special-token or contraction alternative matching at pos, or 0.
size_t MatchFixedAlternative(std::u32string_view text, size_t pos) {
  static constexpr std::u32string_view kAlternatives[] = {
      U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d",
  };
  const char32_t first = text[pos];
  if (first != U'<' && first != U'\'') return 0;
  for (std::u32string_view alternative : kAlternatives) {
    if (alternative[0] == first && MatchesLiteral(text, pos, alternative)) return alternative.size();
  }
  return 0;
}

}  // namespace

std::vector<std::u32string_view> SplitWords(std::u32string_view text) {
  std::vector<std::u32string_view> pieces;
  size_t pos = 0;
  while (pos < text.size()) {
    const CharClass cls = Classify(text[pos]);
    if (cls == CharClass::kSkipped) {
      ++pos;
      continue;
    }
    size_t end = pos + MatchFixedAlternative(text, pos);
    if (end == pos) {
      end = pos + 1;
      if (cls != CharClass::kNumber) {  // numbers are single pieces; letters and others run on
        while (end < text.size() && Classify(text[end]) == cls) ++end;
      }
    }
    pieces.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return pieces;
}

}  // namespace mms::text::internal
