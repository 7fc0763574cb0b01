// OpenAI's text clean-up before splitting, on code points: the tokenizer keeps working on
// them, CleanText() (clip_tokenizer.h) turns them back into UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace mms::text::internal {

// whitespace_clean(basic_clean(text)).lower() of OpenAI's simple_tokenizer.py:
//   1. bytes -> code points; invalid UTF-8 becomes U+FFFD (Python's errors="replace"), so no
//      input is ever rejected;
//   2. ftfy.fix_text (see ftfy_fixes.h for what is ported);
//   3. html.unescape twice;
//   4. strip, and every run of whitespace (Python's str.isspace) becomes one ' ';
//   5. Python's str.lower().
std::u32string CleanTextCodePoints(std::string_view utf8);

// Step 4 alone.
std::u32string CollapseWhitespace(std::u32string_view text);

}  // namespace mms::text::internal
