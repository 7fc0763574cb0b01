#include "api/json_body.h"

#include <cstdio>

#include "base/error.h"
#include "base/json_brief.h"

namespace mms::api {

namespace {

constexpr size_t kMaxQuotedChars = 40;

// One pass over the bytes, outside strings: the nesting depth and the number of values
// (every '[', '{' and ',' starts at most one more value, plus the first).
void CheckStructure(std::string_view text, const std::string& what) {
  size_t depth = 0, values = 1;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > kMaxJsonDepth) {
          ThrowInvalidArgument(what + " is nested too deeply: lists and objects go more than " +
                               std::to_string(kMaxJsonDepth) + " levels deep (at byte " + std::to_string(i) + ")");
        }
        ++values;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case ',': ++values; break;
      default: break;
    }
    if (values > kMaxJsonValues) {
      ThrowInvalidArgument(what + " has more than " + std::to_string(kMaxJsonValues) + " JSON values (at byte " +
                           std::to_string(i) + ")");
    }
  }
}

}  // namespace

nlohmann::json ParseJsonBody(std::string_view text, const std::string& what, std::string_view syntax_hint) {
  CheckStructure(text, what);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // Only the position: nlohmann's message quotes the input, which holds texts and images.
    // Its lexer also refuses ill-formed UTF-8 inside strings, which lands here.
    ThrowInvalidArgument(what + " is not valid JSON (error at byte " + std::to_string(e.byte) + ")" +
                         std::string(syntax_hint));
  } catch (const nlohmann::json::out_of_range&) {
    // The parser's other refusal: a number beyond a double's range, such as 1e400 (found by fuzz/).
    ThrowInvalidArgument(what + " holds a number too large to represent");
  }
}

std::string QuoteClientText(std::string_view text) {
  std::string out = "\"";
  size_t shown = 0;
  for (unsigned char c : text) {
    if (shown == kMaxQuotedChars) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
    ++shown;
  }
  out += "\"";
  return out;
}

std::string DescribeClientValue(const nlohmann::json& value) {
  // Strings escaped byte by byte (they go into log lines); the rest as model files' values are.
  if (value.is_string()) return QuoteClientText(value.get_ref<const std::string&>());
  return BriefJson(value);
}

}  // namespace mms::api
