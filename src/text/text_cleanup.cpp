#include "text/text_cleanup.h"

#include "text/clip_tokenizer.h"
#include "text/ftfy_fixes.h"
#include "text/html_unescape.h"
#include "text/python_case.h"
#include "text/utf8.h"

namespace mms::text {
namespace internal {

std::u32string CollapseWhitespace(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char32_t c : text) {
    if (IsPythonSpace(c)) {
      pending_space = !out.empty();  // leading whitespace is dropped, trailing never flushed
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::u32string CleanTextCodePoints(std::string_view utf8) {
  std::u32string text = FtfyFixText(DecodeUtf8Lossy(utf8));
  text = PythonHtmlUnescape(PythonHtmlUnescape(text));
  return PythonLower(CollapseWhitespace(text));
}

}  // namespace internal

std::string CleanText(std::string_view utf8) { return internal::EncodeUtf8(internal::CleanTextCodePoints(utf8)); }

}  // namespace mms::text
