// Splits cleaned text into the pieces that OpenAI's tokenizer byte-encodes and runs BPE on,
// the way its regular expression does (with the `regex` module, case-insensitive):
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// Hand-written instead of a regex engine because this runs on every request.
#pragma once

#include <string_view>
#include <vector>

namespace mms::text::internal {

// Pieces in order, as views into `text`. At each position the alternatives are tried in the
// pattern's order: a special-token spelling, a contraction, a run of letters, one number
// character, or a run of anything else that is neither whitespace nor a letter or number.
// A special token or contraction is only seen where a piece starts: "x!<|endoftext|>" gives
// "x", "!<|", "endoftext", "|>".
std::vector<std::u32string_view> SplitWords(std::u32string_view text);

}  // namespace mms::text::internal
