// UTF-8 <-> code point conversion for the text pipeline. The tokenizer works on code
// points (as Python's str does) and turns them back into bytes only for byte-level BPE.
#pragma once

#include <string>
#include <string_view>

namespace mms::text::internal {

// Decodes UTF-8 as Python's bytes.decode("utf-8", errors="replace") does: every maximal
// ill-formed subpart (a stray continuation byte, a truncated sequence, an overlong form, an
// encoded surrogate, a value past U+10FFFF) becomes one U+FFFD. Never fails.
std::u32string DecodeUtf8Lossy(std::string_view bytes);

// Strict decoding (no replacement); false when the bytes are not well-formed UTF-8.
bool DecodeUtf8Strict(std::string_view bytes, std::u32string* out);

void AppendUtf8(char32_t code_point, std::string* out);
std::string EncodeUtf8(std::u32string_view text);

}  // namespace mms::text::internal
