// The part of ftfy.fix_text() (ftfy 6, default settings) that OpenAI's CLIP tokenizer runs
// before anything else. Ported from its documented behaviour:
//   - text is fixed line by line ('\n' ends a segment); once a segment contains '<', ftfy
//     assumes HTML and stops decoding entities for that segment and every later one;
//   - each segment is fixed until nothing changes, a pass being: decode HTML entities (ftfy's
//     cautious decoder), repair mojibake, C1 controls -> Windows-1252, split Latin ligatures,
//     full/half-width forms -> normal width, curly quotes -> straight, line breaks -> '\n',
//     drop terminal escape sequences, drop invisible control characters, NFC.
// Mojibake repair is partial: only a segment that holds a C1 control character (which ftfy
// always judges "bad") is re-read as Latin-1 or Windows-1252 bytes and decoded as UTF-8 when
// that works. ftfy's statistical detector for mojibake without C1 controls is not ported, so
// text such as "cafÃ©" stays as it is here while ftfy would make it "café".
#pragma once

#include <string>
#include <string_view>

namespace mms::text::internal {

std::u32string FtfyFixText(std::u32string_view text);

}  // namespace mms::text::internal
