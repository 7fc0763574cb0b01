// Structured logging: one JSON object (or one plain text line) per event on stderr.
// The Logger is an object passed to whoever logs, not a global, so tests and embedded
// uses can give each server its own.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mms {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kJson, kText };

LogLevel ParseLogLevel(std::string_view name);   // debug|info|warning|error; kInvalidArgument otherwise
LogFormat ParseLogFormat(std::string_view name); // json|text

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::kInfo, LogFormat format = LogFormat::kJson, std::FILE* out = stderr)
      : level_(level), format_(format), out_(out) {}

  bool Enabled(LogLevel level) const { return level >= level_; }
  // fields: extra key/values (request_id, route, status, duration_ms, ...).
  void Log(LogLevel level, std::string_view message, const nlohmann::json& fields = nlohmann::json::object());
  void Info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kInfo, m, f); }
  void Warning(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kWarning, m, f); }
  void Error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { Log(LogLevel::kError, m, f); }

 private:
  LogLevel level_;
  LogFormat format_;
  std::FILE* out_;
  std::mutex mutex_;
};

// A field value as the text format writes it: control characters, DEL and invalid UTF-8
// escaped (\n, \x7f, \xff), and the whole quoted when it holds a blank, '"' or '='.
std::string TextLogValue(std::string_view value);

// UTC time as 2026-11-25T10:49:01.123Z.
std::string IsoTimestampNow();

}  // namespace mms
