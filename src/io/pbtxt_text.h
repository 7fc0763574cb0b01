// Small text helpers shared by the protobuf text-format reader and its schema check.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mms::io {

// `text` in double quotes for an error message, with control bytes, quotes and non-ASCII
// bytes escaped and anything long cut short, so that a message stays one printable line
// and valid UTF-8 (error messages end up in JSON responses).
std::string QuoteForMessage(std::string_view text);

// Appends the UTF-8 encoding of a code point; false for surrogates and values past U+10FFFF.
bool AppendUtf8(uint32_t code_point, std::string& out);

// Whether bytes are well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// "inf", "infinity" or "nan" in any letter case: the words protobuf accepts as floats.
bool IsInfinityOrNan(std::string_view word);

}  // namespace mms::io
