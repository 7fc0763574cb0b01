#include "text/hf_normalizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "text/hf_json.h"
#include "text/utf8.h"

namespace mms::text::internal {
namespace {

std::string Utf8procMap(const std::string& text, int options) {
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    std::free(out);
    return text;  // not reachable for valid UTF-8; leave the text as it is
  }
  std::string result(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

bool IsCasedLetter(char32_t c) {
  const utf8proc_category_t category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LL || category == UTF8PROC_CATEGORY_LT;
}

// Rust's str::to_lowercase: per code point, with the two rules that are not one-to-one:
// U+0130 becomes "i" + combining dot, and a capital sigma ending a word becomes final sigma.
std::string Lowercase(const std::string& text) {
  std::u32string chars = DecodeUtf8Lossy(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < chars.size(); ++i) {
    const char32_t c = chars[i];
    if (c == 0x130) {
      out.append("i\xCC\x87");
      continue;
    }
    if (c == 0x3A3) {
      const bool after_letter = i > 0 && IsCasedLetter(chars[i - 1]);
      const bool before_letter = i + 1 < chars.size() && IsCasedLetter(chars[i + 1]);
      AppendUtf8(after_letter && !before_letter ? 0x3C2 : 0x3C3, &out);
      continue;
    }
    AppendUtf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), &out);
  }
  return out;
}

std::string Strip(const std::string& text, bool left, bool right) {
  const std::u32string chars = DecodeUtf8Lossy(text);
  size_t begin = 0, end = chars.size();
  if (left) {
    while (begin < end && IsUnicodeWhitespace(chars[begin])) ++begin;
  }
  if (right) {
    while (end > begin && IsUnicodeWhitespace(chars[end - 1])) --end;
  }
  return EncodeUtf8(std::u32string_view(chars).substr(begin, end - begin));
}

}  // namespace

bool IsUnicodeWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

HfRegex ParseHfPattern(const nlohmann::json& json, const std::string& where) {
  if (json.is_object() && json.size() == 1) {
    if (const auto* s = FindField(json, "String"); s != nullptr && s->is_string()) {
      return HfRegex::Literal(s->get<std::string>(), where);
    }
    if (const auto* r = FindField(json, "Regex"); r != nullptr && r->is_string()) {
      return HfRegex(r->get<std::string>(), where);
    }
  }
  ThrowInvalidModel(where + ": expected {\"String\": ...} or {\"Regex\": ...}");
}

HfNormalizer HfNormalizer::Parse(const nlohmann::json& json, const std::string& where) {
  HfNormalizer normalizer;
  if (!json.is_null()) normalizer.ParseInto(json, where, 0);
  return normalizer;
}

void HfNormalizer::ParseInto(const nlohmann::json& json, const std::string& where, int depth) {
  if (depth > kMaxComponentDepth) ThrowInvalidModel(where + ": Sequence nested too deeply");
  const std::string type = JsonType(json, where);
  Step step{};
  if (type == "Sequence") {
    const auto* list = FindField(json, "normalizers");
    if (list == nullptr || !list->is_array()) ThrowInvalidModel(where + ".normalizers: expected an array");
    for (size_t i = 0; i < list->size(); ++i) {
      ParseInto((*list)[i], where + ".normalizers[" + std::to_string(i) + "]", depth + 1);
    }
    return;
  } else if (type == "NFC") {
    step.kind = Kind::kNfc;
  } else if (type == "NFKC") {
    step.kind = Kind::kNfkc;
  } else if (type == "NFD") {
    step.kind = Kind::kNfd;
  } else if (type == "NFKD") {
    step.kind = Kind::kNfkd;
  } else if (type == "Lowercase") {
    step.kind = Kind::kLowercase;
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    step.strip_left = JsonBool(json, "strip_left", where, true);
    step.strip_right = JsonBool(json, "strip_right", where, true);
  } else if (type == "Replace") {
    step.kind = Kind::kReplace;
    const auto* pattern = FindField(json, "pattern");
    if (pattern == nullptr) ThrowInvalidModel(where + ".pattern: missing");
    step.pattern.push_back(ParseHfPattern(*pattern, where + ".pattern"));
    step.content = JsonString(json, "content", where, "", /*required=*/true);
  } else if (type == "Prepend") {
    step.kind = Kind::kPrepend;
    step.content = JsonString(json, "prepend", where, "", /*required=*/true);
  } else {
    ThrowInvalidModel(where + ": normalizer type \"" + type.substr(0, 64) + "\" is not supported");
  }
  steps_.push_back(std::move(step));
}

std::string HfNormalizer::Apply(std::string text) const {
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kNfc: text = Utf8procMap(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE); break;
      case Kind::kNfkc: text = Utf8procMap(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT); break;
      case Kind::kNfd: text = Utf8procMap(text, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE); break;
      case Kind::kNfkd: text = Utf8procMap(text, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT); break;
      case Kind::kLowercase: text = Lowercase(text); break;
      case Kind::kStrip: text = Strip(text, step.strip_left, step.strip_right); break;
      case Kind::kReplace: text = step.pattern[0].ReplaceAll(text, step.content); break;
      case Kind::kPrepend:
        // Hugging Face prepends only to a non-empty piece.
        if (!text.empty()) text.insert(0, step.content);
        break;
    }
  }
  return text;
}

}  // namespace mms::text::internal
