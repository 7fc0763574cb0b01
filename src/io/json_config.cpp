#include "io/json_config.h"

#include <cstdint>
#include <filesystem>
#include <system_error>

#include "base/error.h"
#include "base/file_util.h"
#include "base/json_brief.h"

namespace mms::io {

nlohmann::json LoadJsonFile(const std::string& path) {
  // A config file is a few kilobytes; a huge one is a mistake or an attack, refused
  // before it is read into memory and parsed.
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxJsonConfigBytes) {
    ThrowInvalidModel(path + ": " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(kMaxJsonConfigBytes) + " for a JSON config file");
  }
  std::string text;
  try {
    text = ReadFileBytes(path);
  } catch (const Error& e) {
    ThrowInvalidModel(std::string("missing file: ") + e.what());
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    ThrowInvalidModel(path + ": not valid JSON: " + e.what());
  }
}

namespace {

[[noreturn]] void BadType(const std::string& where, const std::string& key, const char* expected,
                          const nlohmann::json& value) {
  ThrowInvalidModel(where + ": field \"" + key + "\" must be " + expected + ", got " + BriefJson(value));
}

}  // namespace

int64_t IntField(const nlohmann::json& obj, const std::string& key, int64_t fallback, const std::string& where) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  const auto& v = obj[key];
  if (!v.is_number_integer()) BadType(where, key, "an integer", v);
  // Past INT64_MAX nlohmann stores an unsigned value that get<int64_t> would wrap negative.
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    BadType(where, key, "an integer below 2^63", v);
  }
  return v.get<int64_t>();
}

int64_t IntFieldInRange(const nlohmann::json& obj, const std::string& key, int64_t fallback, int64_t min, int64_t max,
                        const std::string& where) {
  const int64_t v = IntField(obj, key, fallback, where);
  if (v < min || v > max) {
    ThrowInvalidModel(where + ": field \"" + key + "\" is " + std::to_string(v) + ", outside the supported range " +
                      std::to_string(min) + ".." + std::to_string(max));
  }
  return v;
}

double NumberField(const nlohmann::json& obj, const std::string& key, double fallback, const std::string& where) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  const auto& v = obj[key];
  if (!v.is_number()) BadType(where, key, "a number", v);
  return v.get<double>();
}

std::string StringField(const nlohmann::json& obj, const std::string& key, const std::string& fallback,
                        const std::string& where) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  const auto& v = obj[key];
  if (!v.is_string()) BadType(where, key, "a string", v);
  return v.get<std::string>();
}

int64_t RequiredPositiveInt(const nlohmann::json& obj, const std::string& key, const std::string& where) {
  if (!obj.contains(key)) ThrowInvalidModel(where + ": required field \"" + key + "\" is missing");
  const int64_t v = IntField(obj, key, 0, where);
  if (v <= 0) BadType(where, key, "a positive integer", obj[key]);
  return v;
}

}  // namespace mms::io
