// The pieces of Python's str semantics that OpenAI's tokenizer relies on: which code points
// str.isspace() / re's \s accept, and str.lower() with its full (not simple) mapping.
#pragma once

#include <string>
#include <string_view>

namespace mms::text::internal {

// Python's str.isspace() for one code point (this is also what re's \s matches in str patterns).
bool IsPythonSpace(char32_t c);

// Python's str.lower(): the Unicode lowercase mapping per code point, plus the two rules a
// per-code-point table misses: U+0130 'İ' becomes "i̇" (two code points), and capital sigma
// becomes final sigma 'ς' at the end of a word (Unicode's Final_Sigma context).
std::u32string PythonLower(std::u32string_view text);

}  // namespace mms::text::internal
