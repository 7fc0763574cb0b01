#include "io/json_config.h"

#include "base/error.h"
#include "base/file_util.h"

namespace mms::io {

nlohmann::json LoadJsonFile(const std::string& path) {
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
  ThrowInvalidModel(where + ": field \"" + key + "\" must be " + expected + ", got " + value.dump());
}

}  // namespace

int64_t IntField(const nlohmann::json& obj, const std::string& key, int64_t fallback, const std::string& where) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  const auto& v = obj[key];
  if (!v.is_number_integer()) BadType(where, key, "an integer", v);
  return v.get<int64_t>();
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
