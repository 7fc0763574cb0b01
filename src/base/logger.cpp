#include "base/logger.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "base/error.h"

namespace mms {

LogLevel ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warning" || name == "warn") return LogLevel::kWarning;
  if (name == "error") return LogLevel::kError;
  ThrowInvalidArgument("unknown log level \"" + std::string(name) + "\" (debug, info, warning, error)");
}

LogFormat ParseLogFormat(std::string_view name) {
  if (name == "json") return LogFormat::kJson;
  if (name == "text") return LogFormat::kText;
  ThrowInvalidArgument("unknown log format \"" + std::string(name) + "\" (json, text)");
}

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is not one
// (stray continuation byte, overlong form, surrogate, past U+10FFFF, truncated).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
    return 0;
  }
  return n;
}

// Text for the text format, on one line whatever it holds. Clients reach log fields (a
// URL-decoded path, a header, a model name), so a newline in one would otherwise start a
// forged log line: controls, DEL and bytes that are not UTF-8 become escapes (\n, \x01,
// \xff), and '\\' (and in a field value '"') is escaped so that an escape cannot be
// faked either. *pose_as_field (null for the message): whether the text holds a blank,
// '"' or '=' (or is empty), so that as a field value it must be quoted not to pose as
// another key=value.
std::string EscapeText(std::string_view s, bool* pose_as_field) {
  std::string out;
  bool quote = s.empty();
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = Utf8SequenceLength(s, i);
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    const bool quote_char = c == '"' && pose_as_field;  // only a field value is ever quoted
    if (n == 1 && c >= 0x20 && c != 0x7f && c != '\\' && !quote_char) {
      quote = quote || c == ' ' || c == '=';
      out += static_cast<char>(c);
      continue;
    }
    quote = quote || c == '"';
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default: {
        char hex[5];
        std::snprintf(hex, sizeof(hex), "\\x%02x", c);
        out += hex;
      }
    }
  }
  if (pose_as_field) *pose_as_field = quote;
  return out;
}

}  // namespace

std::string TextLogValue(std::string_view value) {
  bool quote = false;
  std::string out = EscapeText(value, &quote);
  if (!quote) return out;
  std::string quoted;
  quoted.reserve(out.size() + 2);
  quoted += '"';
  quoted += out;
  quoted += '"';
  return quoted;
}

std::string IsoTimestampNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, millis);
  return out;
}

void Logger::Log(LogLevel level, std::string_view message, const nlohmann::json& fields) {
  if (!Enabled(level)) return;
  static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
  const char* level_name = kNames[static_cast<int>(level)];
  std::string line;
  if (format_ == LogFormat::kJson) {
    nlohmann::json j = {{"time", IsoTimestampNow()}, {"level", level_name}, {"message", message}};
    for (const auto& [k, v] : fields.items()) j[k] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    // The message is free text: blanks stay as they are, only what could break the line
    // or the encoding is escaped.
    const std::string text = EscapeText(message, nullptr);
    line = IsoTimestampNow() + " " + level_name + " " + text;
    for (const auto& [k, v] : fields.items()) {
      line += ' ';
      line += TextLogValue(k);
      line += '=';
      line += TextLogValue(v.is_string() ? v.get<std::string>()
                                         : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace mms
