#include "base/logger.h"

#include <chrono>
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
    line = IsoTimestampNow() + " " + level_name + " " + std::string(message);
    for (const auto& [k, v] : fields.items()) {
      line += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace mms
