// Typed reads of tokenizer.json fields with errors that name the file and the field path
// (e.g. "tokenizer.json: normalizer.normalizers[1].prepend: expected a string").
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "base/error.h"

namespace mms::text::internal {

// Nesting of Sequence normalizers / pre-tokenizers / decoders / processors.
inline constexpr int kMaxComponentDepth = 16;

inline const nlohmann::json* FindField(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

inline std::string JsonString(const nlohmann::json& object, const char* key, const std::string& where,
                              const std::string& fallback, bool required = false) {
  const nlohmann::json* value = FindField(object, key);
  if (value == nullptr) {
    if (required) ThrowInvalidModel(where + "." + key + ": missing");
    return fallback;
  }
  if (!value->is_string()) ThrowInvalidModel(where + "." + key + ": expected a string");
  return value->get<std::string>();
}

inline bool JsonBool(const nlohmann::json& object, const char* key, const std::string& where, bool fallback) {
  const nlohmann::json* value = FindField(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) ThrowInvalidModel(where + "." + key + ": expected true or false");
  return value->get<bool>();
}

inline int64_t JsonInt(const nlohmann::json& object, const char* key, const std::string& where, int64_t fallback,
                       int64_t min, int64_t max) {
  const nlohmann::json* value = FindField(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_number_integer() || value->get<int64_t>() < min || value->get<int64_t>() > max) {
    ThrowInvalidModel(where + "." + key + ": expected an integer from " + std::to_string(min) + " to " +
                      std::to_string(max));
  }
  return value->get<int64_t>();
}

inline std::string JsonType(const nlohmann::json& object, const std::string& where) {
  if (!object.is_object()) ThrowInvalidModel(where + ": expected an object");
  return JsonString(object, "type", where, "", /*required=*/true);
}

}  // namespace mms::text::internal
