#include "text/hf_decoder.h"

#include "text/bpe_model.h"
#include "text/hf_json.h"
#include "text/hf_normalizer.h"
#include "text/utf8.h"

namespace mms::text::internal {
namespace {

constexpr const char* kReplacementUtf8 = "\xEF\xBF\xBD";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The inverse of GPT-2's bytes_to_unicode (-1 for characters outside its alphabet).
const std::vector<int>& UnicodeToByte() {
  static const std::vector<int> table = [] {
    std::vector<int> t(0x200, -1);
    for (int b = 0; b < 256; ++b) t[ByteToUnicode(static_cast<uint8_t>(b))] = b;
    return t;
  }();
  return table;
}

// ByteLevel's unmapping of one token: its characters as bytes, or the token's own bytes when
// any character is outside the alphabet (added tokens written in plain text).
void AppendByteLevel(const std::string& token, std::string* out) {
  const std::u32string chars = DecodeUtf8Lossy(token);
  const auto& table = UnicodeToByte();
  std::string bytes;
  for (const char32_t c : chars) {
    if (c >= table.size() || table[c] < 0) {
      out->append(token);
      return;
    }
    bytes.push_back(static_cast<char>(table[c]));
  }
  out->append(bytes);
}

bool IsValidUtf8(const std::string& bytes) {
  std::u32string ignored;
  return DecodeUtf8Strict(bytes, &ignored);
}

}  // namespace

int ByteFallbackValue(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  const int high = HexValue(token[3]), low = HexValue(token[4]);
  if (high < 0 || low < 0) return -1;
  return high * 16 + low;
}

HfDecoder HfDecoder::Parse(const nlohmann::json& json, const std::string& where) {
  HfDecoder decoder;
  if (!json.is_null()) {
    decoder.none_ = false;
    decoder.ParseInto(json, where, 0);
  }
  return decoder;
}

void HfDecoder::ParseInto(const nlohmann::json& json, const std::string& where, int depth) {
  if (depth > kMaxComponentDepth) ThrowInvalidModel(where + ": Sequence nested too deeply");
  const std::string type = JsonType(json, where);
  Step step{};
  if (type == "Sequence") {
    const auto* list = FindField(json, "decoders");
    if (list == nullptr || !list->is_array()) ThrowInvalidModel(where + ".decoders: expected an array");
    for (size_t i = 0; i < list->size(); ++i) {
      ParseInto((*list)[i], where + ".decoders[" + std::to_string(i) + "]", depth + 1);
    }
    return;
  } else if (type == "Replace") {
    step.kind = Kind::kReplace;
    const auto* pattern = FindField(json, "pattern");
    if (pattern == nullptr) ThrowInvalidModel(where + ".pattern: missing");
    step.pattern.push_back(ParseHfPattern(*pattern, where + ".pattern"));
    step.content = JsonString(json, "content", where, "", /*required=*/true);
  } else if (type == "ByteFallback") {
    step.kind = Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = Kind::kFuse;
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    step.content = JsonString(json, "content", where, " ");
    std::u32string chars;
    if (!DecodeUtf8Strict(step.content, &chars) || chars.size() != 1) {
      ThrowInvalidModel(where + ".content: expected one character");
    }
    step.start = static_cast<size_t>(JsonInt(json, "start", where, 0, 0, 1 << 20));
    step.stop = static_cast<size_t>(JsonInt(json, "stop", where, 0, 0, 1 << 20));
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    step.content = JsonString(json, "replacement", where, "\xE2\x96\x81");
    std::u32string chars;
    if (!DecodeUtf8Strict(step.content, &chars) || chars.size() != 1) {
      ThrowInvalidModel(where + ".replacement: expected one character");
    }
    step.prepend = JsonBool(json, "add_prefix_space", where, true);
    if (FindField(json, "prepend_scheme") != nullptr) {
      step.prepend = JsonString(json, "prepend_scheme", where, "always") != "never";
    }
  } else if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
  } else {
    ThrowInvalidModel(where + ": decoder type \"" + type.substr(0, 64) + "\" is not supported");
  }
  steps_.push_back(std::move(step));
}

bool HfDecoder::byte_level() const {
  for (const Step& step : steps_) {
    if (step.kind == Kind::kByteLevel) return true;
  }
  return false;
}

std::string HfDecoder::Decode(std::vector<std::string> tokens) const {
  if (none_) {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined.push_back(' ');
      joined.append(tokens[i]);
    }
    return joined;
  }
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kReplace:
        for (std::string& token : tokens) token = step.pattern[0].ReplaceAll(token, step.content);
        break;
      case Kind::kByteFallback: {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string bytes;
        size_t byte_count = 0;
        const auto flush = [&] {
          if (byte_count == 0) return;
          if (IsValidUtf8(bytes)) {
            out.push_back(bytes);
          } else {
            for (size_t i = 0; i < byte_count; ++i) out.emplace_back(kReplacementUtf8);
          }
          bytes.clear();
          byte_count = 0;
        };
        for (std::string& token : tokens) {
          const int value = ByteFallbackValue(token);
          if (value >= 0) {
            bytes.push_back(static_cast<char>(value));
            ++byte_count;
          } else {
            flush();
            out.push_back(std::move(token));
          }
        }
        flush();
        tokens.swap(out);
        break;
      }
      case Kind::kFuse: {
        std::string joined;
        for (const std::string& token : tokens) joined.append(token);
        tokens.assign(1, std::move(joined));
        break;
      }
      case Kind::kStrip: {
        const char32_t strip = DecodeUtf8Lossy(step.content)[0];
        for (std::string& token : tokens) {
          const std::u32string chars = DecodeUtf8Lossy(token);
          size_t begin = 0, end = chars.size();
          while (begin < step.start && begin < end && chars[begin] == strip) ++begin;
          size_t stripped = 0;
          while (stripped < step.stop && end > begin && chars[end - 1] == strip) {
            --end;
            ++stripped;
          }
          token = EncodeUtf8(std::u32string_view(chars).substr(begin, end - begin));
        }
        break;
      }
      case Kind::kMetaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          // The first token loses its replacement characters (the prepended space), the
          // others get spaces, as Hugging Face's decoder does.
          std::string out;
          const std::string& token = tokens[i];
          for (size_t pos = token.find(step.content), last = 0;; pos = token.find(step.content, last)) {
            out.append(token, last, pos == std::string::npos ? std::string::npos : pos - last);
            if (pos == std::string::npos) break;
            if (!(i == 0 && step.prepend)) out.push_back(' ');
            last = pos + step.content.size();
          }
          tokens[i] = std::move(out);
        }
        break;
      case Kind::kByteLevel: {
        std::string bytes;
        for (const std::string& token : tokens) AppendByteLevel(token, &bytes);
        tokens.assign(1, EncodeUtf8(DecodeUtf8Lossy(bytes)));
        break;
      }
    }
  }
  std::string joined;
  for (const std::string& token : tokens) joined.append(token);
  return joined;
}

std::string HfDecoder::TokenBytes(const std::string& token) const {
  if (none_) return token;
  std::string text = token;
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kReplace: text = step.pattern[0].ReplaceAll(text, step.content); break;
      case Kind::kByteFallback: {
        const int value = ByteFallbackValue(text);
        if (value >= 0) return std::string(1, static_cast<char>(value));
        break;
      }
      case Kind::kMetaspace: {
        std::string out;
        for (size_t pos = text.find(step.content), last = 0;; pos = text.find(step.content, last)) {
          out.append(text, last, pos == std::string::npos ? std::string::npos : pos - last);
          if (pos == std::string::npos) break;
          out.push_back(' ');
          last = pos + step.content.size();
        }
        text = std::move(out);
        break;
      }
      case Kind::kByteLevel: {
        std::string bytes;
        AppendByteLevel(text, &bytes);
        return bytes;
      }
      case Kind::kFuse:
      case Kind::kStrip: break;
    }
  }
  return text;
}

}  // namespace mms::text::internal
