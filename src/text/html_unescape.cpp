#include "text/html_unescape.h"

#include <utf8proc.h>

#include <optional>
#include <string>
#include <unordered_map>

#include "text/utf8.h"
#include "text/windows_1252.h"

namespace mms::text::internal {
namespace {

struct NamedEntity {
  const char* name;   // without the '&', with the ';' where the spelling has one
  const char* value;  // UTF-8
};

constexpr NamedEntity kHtml5Entities[] = {
#include "text/html_entity_table.inc"
};

constexpr size_t kMaxNamedReferenceLength = 32;  // html.unescape's {1,32}
constexpr size_t kMaxFtfyEntityLength = 24;      // ftfy's {1,24}

bool IsAsciiDigit(char32_t c) { return c >= '0' && c <= '9'; }
bool IsAsciiHexDigit(char32_t c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsAsciiAlnum(char32_t c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int HexValue(char32_t c) {
  if (IsAsciiDigit(c)) return static_cast<int>(c - '0');
  return static_cast<int>((c | 0x20) - 'a' + 10);
}

// Code points that html.unescape drops when a numeric reference names them.
bool IsDroppedCodePoint(uint32_t n) {
  return (n >= 0x01 && n <= 0x08) || n == 0x0B || (n >= 0x0E && n <= 0x1F) || (n >= 0x7F && n <= 0x9F) ||
         (n >= 0xFDD0 && n <= 0xFDEF) || (n & 0xFFFE) == 0xFFFE;
}

// What html.unescape puts in place of the numeric reference with value n (n is capped at
// 0x110000, which stands for "anything too large").
void AppendNumericReference(uint32_t n, std::u32string* out) {
  if (n == 0x00) {
    out->push_back(0xFFFD);
  } else if (n == 0x0D) {
    out->push_back(U'\r');
  } else if (IsC1Control(n)) {
    out->push_back(SloppyWindows1252(n));
  } else if ((n >= 0xD800 && n <= 0xDFFF) || n > 0x10FFFF) {
    out->push_back(0xFFFD);
  } else if (!IsDroppedCodePoint(n)) {
    out->push_back(n);
  }
}

// Python's str.upper() for the values of entities ftfy decodes in uppercase spelling; only
// these values have an uppercase form longer than one code point.
std::u32string PythonUpper(std::u32string_view value) {
  static const std::unordered_map<char32_t, std::u32string> kMultiCodePoint = {
      {0x00DF, U"SS"}, {0xFB00, U"FF"}, {0xFB01, U"FI"}, {0xFB02, U"FL"},
      {0xFB03, U"FFI"}, {0xFB04, U"FFL"}, {0x0149, U"\u02BCN"},
  };
  std::u32string out;
  for (char32_t c : value) {
    const auto it = kMultiCodePoint.find(c);
    if (it != kMultiCodePoint.end()) {
      out += it->second;
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

using EntityMap = std::unordered_map<std::string, std::u32string>;

// Looks a name up; every entity name is ASCII, so anything else is simply absent.
const std::u32string* FindEntity(const EntityMap& map, std::u32string_view name) {
  std::string key;
  key.reserve(name.size());
  for (char32_t c : name) {
    if (c >= 0x80) return nullptr;
    key.push_back(static_cast<char>(c));
  }
  const auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

// html.entities.html5: name (with ';' where the spelling has one) -> value.
const EntityMap& Html5Entities() {
  static const EntityMap map = [] {
    EntityMap m;
    for (const NamedEntity& e : kHtml5Entities) m.emplace(e.name, DecodeUtf8Lossy(e.value));
    return m;
  }();
  return map;
}

// The entities ftfy decodes, keyed "name;" without the '&'. Mirrors ftfy's
// _build_html_entities(): every HTML5 name with ';', plus the uppercase spelling of an
// all-lowercase name when html.unescape leaves that spelling alone.
const EntityMap& FtfyEntities() {
  static const EntityMap map = [] {
    EntityMap m;
    for (const NamedEntity& e : kHtml5Entities) {
      const std::string name = e.name;
      if (name.back() != ';') continue;
      const std::u32string value = DecodeUtf8Lossy(e.value);
      m.insert_or_assign(name, value);
      std::string upper = name;
      bool has_uppercase = false;
      for (char& ch : upper) {
        if (ch >= 'A' && ch <= 'Z') has_uppercase = true;
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
      }
      if (has_uppercase) continue;
      const std::u32string spelled = DecodeUtf8Lossy("&" + upper);
      if (PythonHtmlUnescape(spelled) == spelled) m.insert_or_assign(upper, PythonUpper(value));
    }
    return m;
  }();
  return map;
}

// "&#..." at text[amp]: html.unescape's `#[0-9]+;?` and `#[xX][0-9a-fA-F]+;?`. Returns the
// length consumed (0 when it is not a numeric reference).
size_t ConsumeNumericReference(std::u32string_view text, size_t amp, std::u32string* out) {
  size_t pos = amp + 2;
  const bool hex = pos < text.size() && (text[pos] == 'x' || text[pos] == 'X') && pos + 1 < text.size() &&
                   IsAsciiHexDigit(text[pos + 1]);
  if (hex) ++pos;
  const size_t digits_begin = pos;
  uint32_t value = 0;
  while (pos < text.size() && (hex ? IsAsciiHexDigit(text[pos]) : IsAsciiDigit(text[pos]))) {
    const uint32_t digit = static_cast<uint32_t>(hex ? HexValue(text[pos]) : static_cast<int>(text[pos] - '0'));
    value = value * (hex ? 16 : 10) + digit;
    if (value > 0x10FFFF) value = 0x110000;  // saturate: every larger value decodes alike
    ++pos;
  }
  if (pos == digits_begin) return 0;
  if (pos < text.size() && text[pos] == ';') ++pos;
  AppendNumericReference(value, out);
  return pos - amp;
}

bool EndsNamedReference(char32_t c) {
  return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';';
}

// "&name" at text[amp]: html.unescape's `[^\t\n\f <&#;]{1,32};?`, with its longest-prefix
// fallback for the legacy names. Returns the length consumed (0 when nothing matches).
size_t ConsumeNamedReference(std::u32string_view text, size_t amp, std::u32string* out) {
  size_t end = amp + 1;
  while (end < text.size() && end - (amp + 1) < kMaxNamedReferenceLength && !EndsNamedReference(text[end])) ++end;
  if (end == amp + 1) return 0;
  if (end < text.size() && text[end] == ';') ++end;
  const std::u32string_view name = text.substr(amp + 1, end - (amp + 1));
  const EntityMap& entities = Html5Entities();
  if (const std::u32string* value = FindEntity(entities, name)) {
    *out += *value;
    return end - amp;
  }
  for (size_t length = name.size() - 1; length >= 2; --length) {
    if (const std::u32string* value = FindEntity(entities, name.substr(0, length))) {
      *out += *value;
      *out += name.substr(length);
      return end - amp;
    }
  }
  out->push_back(U'&');
  *out += name;
  return end - amp;
}

}  // namespace

std::u32string PythonHtmlUnescape(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != U'&') {
      out.push_back(text[i++]);
      continue;
    }
    size_t consumed = 0;
    if (i + 1 < text.size() && text[i + 1] == U'#') {
      consumed = ConsumeNumericReference(text, i, &out);
    } else {
      consumed = ConsumeNamedReference(text, i, &out);
    }
    if (consumed == 0) {
      out.push_back(U'&');
      consumed = 1;
    }
    i += consumed;
  }
  return out;
}

namespace {

// What ftfy's unescape_html puts in place of one match "&...;" (returned unchanged when it
// decodes to nothing better).
std::u32string DecodeFtfyEntity(std::u32string_view entity, bool numeric) {
  if (const std::u32string* value = FindEntity(FtfyEntities(), entity.substr(1))) return *value;
  if (numeric) {
    // ftfy defers to html.unescape, but keeps the text when that left the ';' unread.
    std::u32string decoded = PythonHtmlUnescape(entity);
    if (decoded.find(U';') == std::u32string::npos) return decoded;
  }
  return std::u32string(entity);
}

// If `text` ends with a match of ftfy's pattern &#?[0-9A-Za-z]{1,24}; returns where it starts.
// The letters and digits of a match are the whole run before the ';', as '&' and '#' are not
// among them, so looking back from the ';' finds the only candidate.
std::optional<size_t> MatchEndingAtBack(std::u32string_view text) {
  if (text.empty() || text.back() != U';') return std::nullopt;
  size_t begin = text.size() - 1;
  while (begin > 0 && IsAsciiAlnum(text[begin - 1]) && text.size() - 1 - (begin - 1) <= kMaxFtfyEntityLength) --begin;
  const size_t name_length = text.size() - 1 - begin;
  if (name_length == 0 || (begin > 0 && IsAsciiAlnum(text[begin - 1]))) return std::nullopt;  // none, or too long
  if (begin > 0 && text[begin - 1] == U'&') return begin - 1;
  if (begin > 1 && text[begin - 1] == U'#' && text[begin - 2] == U'&') return begin - 2;
  return std::nullopt;
}

}  // namespace

std::u32string FtfyUnescapeHtml(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != U'&') {
      out.push_back(text[i++]);
      continue;
    }
    // ftfy's pattern: &#?[0-9A-Za-z]{1,24};
    const bool numeric = i + 1 < text.size() && text[i + 1] == U'#';
    const size_t name_begin = i + (numeric ? 2 : 1);
    size_t name_end = name_begin;
    while (name_end < text.size() && IsAsciiAlnum(text[name_end])) ++name_end;
    const size_t name_length = name_end - name_begin;
    if (name_length == 0 || name_length > kMaxFtfyEntityLength || name_end >= text.size() ||
        text[name_end] != U';') {
      out.push_back(text[i++]);
      continue;
    }
    out += DecodeFtfyEntity(text.substr(i, name_end + 1 - i), numeric);
    i = name_end + 1;
  }
  return out;
}

std::u32string FtfyUnescapeHtmlUntilStable(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
  // Code points move from `text` (or, first, from `pending`, a stack holding the output of
  // decoded entities) to `out`; whenever a ';' lands, the match it may end is decoded and its
  // result is pushed back to be read again, as it may complete a match with what surrounds it
  // ("&amp;lt;" -> "&lt;" -> "<"). Matches never overlap, so the order of decoding does not
  // change the end result, and as every decoding shortens the text this takes linear time.
  std::u32string out;
  std::u32string pending;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size() || !pending.empty()) {
    char32_t c;
    if (!pending.empty()) {
      c = pending.back();
      pending.pop_back();
    } else {
      c = text[i++];
    }
    out.push_back(c);
    if (c != U';') continue;
    const std::optional<size_t> begin = MatchEndingAtBack(out);
    if (!begin) continue;
    const std::u32string_view entity = std::u32string_view(out).substr(*begin);
    const std::u32string decoded = DecodeFtfyEntity(entity, entity[1] == U'#');
    if (decoded == entity) continue;
    out.resize(*begin);
    pending.append(decoded.rbegin(), decoded.rend());
  }
  return out;
}

}  // namespace mms::text::internal
