#include "text/ftfy_fixes.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "text/html_unescape.h"
#include "text/utf8.h"
#include "text/windows_1252.h"

namespace mms::text::internal {
namespace {

constexpr size_t kMaxSegmentLength = 1000000;  // ftfy's max_decode_length
constexpr char32_t kEscape = 0x1B;
constexpr int kExactUnescapePasses = 16;

bool HasC1Control(std::u32string_view text) {
  for (char32_t c : text) {
    if (IsC1Control(c)) return true;
  }
  return false;
}

// The code point whose Windows-1252 byte is `byte` (0x80..0xFF), the sloppy way.
char32_t SloppyWindows1252Byte(unsigned byte) { return byte < 0xA0 ? SloppyWindows1252(byte) : byte; }

// Encodes text as ftfy's "sloppy-windows-1252" codec would (U+FFFD is byte 0x1A, which ftfy's
// replace_lossy_sequences turns back into an encoded U+FFFD). False when a code point has no byte.
bool EncodeSloppyWindows1252(std::u32string_view text, std::string* bytes) {
  static const std::array<char32_t, 128> kUpperHalf = [] {
    std::array<char32_t, 128> table{};
    for (unsigned b = 0x80; b <= 0xFF; ++b) table[b - 0x80] = SloppyWindows1252Byte(b);
    return table;
  }();
  bytes->clear();
  for (char32_t c : text) {
    if (c == 0xFFFD) {
      *bytes += "\xEF\xBF\xBD";
    } else if (c < 0x80 && c != 0x1A) {
      bytes->push_back(static_cast<char>(c));
    } else {
      size_t index = 0;
      while (index < kUpperHalf.size() && kUpperHalf[index] != c) ++index;
      if (index == kUpperHalf.size()) return false;
      bytes->push_back(static_cast<char>(0x80 + index));
    }
  }
  return true;
}

// ftfy's fix_encoding, reduced to the case it is sure about without its badness heuristics:
// a C1 control character makes ftfy try to re-read the text as the UTF-8 bytes of Latin-1 and
// then of Windows-1252 ("â\x80\x99" -> "’"). When neither works, fix_c1_controls below
// maps the controls themselves, which is what ftfy ends up doing too.
std::u32string RepairC1Mojibake(std::u32string text) {
  if (!HasC1Control(text)) return text;
  std::string bytes;
  std::u32string decoded;
  bool latin1 = true;
  for (char32_t c : text) {
    if (c > 0xFF) {
      latin1 = false;
      break;
    }
    bytes.push_back(static_cast<char>(c));
  }
  if (latin1 && DecodeUtf8Strict(bytes, &decoded)) return decoded;
  if (EncodeSloppyWindows1252(text, &bytes) && DecodeUtf8Strict(bytes, &decoded)) return decoded;
  return text;
}

// Ligatures and digraphs of Latin letters that ftfy takes apart ('ﬁ' -> "fi").
const char32_t* LatinLigatureExpansion(char32_t c) {
  switch (c) {
    case 0x0132: return U"IJ";
    case 0x0133: return U"ij";
    case 0x0149: return U"\u02BCn";
    case 0x01C4: return U"D\u017D";
    case 0x01C5: return U"D\u017E";
    case 0x01C6: return U"d\u017E";
    case 0x01C7: return U"LJ";
    case 0x01C8: return U"Lj";
    case 0x01C9: return U"lj";
    case 0x01CA: return U"NJ";
    case 0x01CB: return U"Nj";
    case 0x01CC: return U"nj";
    case 0x01F1: return U"DZ";
    case 0x01F2: return U"Dz";
    case 0x01F3: return U"dz";
    case 0xFB00: return U"ff";
    case 0xFB01: return U"fi";
    case 0xFB02: return U"fl";
    case 0xFB03: return U"ffi";
    case 0xFB04: return U"ffl";
    case 0xFB05: return U"\u017Ft";
    case 0xFB06: return U"st";
    default: return nullptr;
  }
}

std::u32string Nfkc(std::u32string_view text) {
  const std::string utf8 = EncodeUtf8(text);
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()), static_cast<utf8proc_ssize_t>(utf8.size()),
                   &mapped, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  if (length < 0) return std::u32string(text);
  std::u32string out = DecodeUtf8Lossy(std::string_view(reinterpret_cast<const char*>(mapped), length));
  std::free(mapped);
  return out;
}

// ftfy's width map: U+3000 IDEOGRAPHIC SPACE -> ' ', and every code point of U+FF01..U+FFEF
// whose NFKC form differs -> that form ('Ａ' -> 'A', 'ｶ' -> 'カ').
const std::u32string* WidthReplacement(char32_t c) {
  static constexpr char32_t kFirst = 0xFF01, kLast = 0xFFEF;
  static const std::array<std::u32string, kLast - kFirst + 1> kForms = [] {
    std::array<std::u32string, kLast - kFirst + 1> forms;
    for (char32_t cp = kFirst; cp <= kLast; ++cp) {
      const std::u32string single(1, cp);
      std::u32string normal = Nfkc(single);
      if (normal != single) forms[cp - kFirst] = std::move(normal);
    }
    return forms;
  }();
  static const std::u32string kSpace = U" ";
  if (c == 0x3000) return &kSpace;
  if (c < kFirst || c > kLast || kForms[c - kFirst].empty()) return nullptr;
  return &kForms[c - kFirst];
}

// ftfy's four per-code-point fixes in its order: fix_c1_controls, fix_latin_ligatures,
// fix_character_width, uncurl_quotes. Fused into one loop: apart from uncurl_quotes ('ŉ' ->
// "ʼn" -> "'n", C1 0x92 -> '’' -> '\''), no fix changes what an earlier one outputs, so each
// code point can go through all four in turn.
std::u32string FixCharacters(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto uncurl = [](char32_t c) -> char32_t {
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) return U'\'';
    if (c >= 0x201C && c <= 0x201F) return U'"';
    return c;
  };
  for (char32_t c : text) {
    c = SloppyWindows1252(c);
    if (const char32_t* expansion = LatinLigatureExpansion(c)) {
      for (; *expansion; ++expansion) out.push_back(uncurl(*expansion));
    } else if (const std::u32string* normal = WidthReplacement(c)) {
      for (char32_t n : *normal) out.push_back(uncurl(n));
    } else {
      out.push_back(uncurl(c));
    }
  }
  return out;
}

// fix_line_breaks: "\r\n", '\r', U+2028, U+2029 and U+0085 all become '\n'.
std::u32string FixLineBreaks(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == U'\r' && i + 1 < text.size() && text[i + 1] == U'\n') continue;  // the '\n' follows
    const bool line_break = c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x0085;
    out.push_back(line_break ? U'\n' : c);
  }
  return out;
}

bool IsUnicodeDecimalDigit(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
}
bool IsAsciiLetter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// remove_terminal_escapes: ESC '[' (\d|;)* [a-zA-Z], where \d is any Unicode decimal digit.
std::u32string RemoveTerminalEscapes(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == kEscape && i + 1 < text.size() && text[i + 1] == U'[') {
      size_t end = i + 2;
      while (end < text.size() && (text[end] == U';' || IsUnicodeDecimalDigit(text[end]))) ++end;
      if (end < text.size() && IsAsciiLetter(text[end])) {
        i = end + 1;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

// remove_control_chars: C0 controls other than \t \n \f \r, DEL, the deprecated Arabic format
// controls U+206A..U+206F, the BOM U+FEFF and U+FFF9..U+FFFC.
bool IsRemovedControl(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

std::u32string RemoveControlChars(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (!IsRemovedControl(c)) out.push_back(c);
  }
  return out;
}

std::u32string Nfc(std::u32string text) {
  // Below U+0300 every code point is already NFC and nothing there composes with a
  // following code point below U+0300, so plain Latin text skips the round trip.
  bool simple = true;
  for (char32_t c : text) simple = simple && c < 0x300;
  if (simple) return text;
  const std::string utf8 = EncodeUtf8(text);
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()), static_cast<utf8proc_ssize_t>(utf8.size()),
                   &mapped, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (length < 0) return text;  // cannot happen for valid code points; keep the text as it was
  std::u32string out = DecodeUtf8Lossy(std::string_view(reinterpret_cast<const char*>(mapped), length));
  std::free(mapped);
  return out;
}

std::u32string FixSegment(std::u32string text, bool unescape_html) {
  for (int pass = 0;; ++pass) {
    const std::u32string before = text;
    // ftfy decodes one level of entities per pass, so "&amp;amp;...;" nested k deep takes k
    // passes over the whole segment. Past any depth real text has, finish the decoding in one
    // linear step instead; the other fixes see the entities decoded a few passes earlier,
    // which only matters for contrived input (a C1-mojibake repair blocked or enabled by them).
    if (unescape_html) text = pass < kExactUnescapePasses ? FtfyUnescapeHtml(text) : FtfyUnescapeHtmlUntilStable(text);
    text = RepairC1Mojibake(std::move(text));
    text = FixCharacters(text);
    text = FixLineBreaks(text);
    text = RemoveTerminalEscapes(text);
    text = RemoveControlChars(text);
    text = Nfc(std::move(text));
    if (text == before) return text;
  }
}

}  // namespace

std::u32string FtfyFixText(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  bool unescape_html = true;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t newline = text.find(U'\n', pos);
    size_t end = newline == std::u32string_view::npos ? text.size() : newline + 1;
    end = std::min(end, pos + kMaxSegmentLength);
    const std::u32string_view segment = text.substr(pos, end - pos);
    if (segment.find(U'<') != std::u32string_view::npos) unescape_html = false;
    out += FixSegment(std::u32string(segment), unescape_html);
    pos = end;
  }
  return out;
}

}  // namespace mms::text::internal
