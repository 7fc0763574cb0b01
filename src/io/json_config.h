// Typed access to JSON config files (config.json, preprocessor_config.json) with
// errors that name the file and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace mms::io {

// Parses a JSON file; a missing file, bad JSON or a file over kMaxJsonConfigBytes is
// Error(kInvalidModel) naming it.
constexpr uint64_t kMaxJsonConfigBytes = 16ull << 20;
nlohmann::json LoadJsonFile(const std::string& path);

// Reads obj[key] as T, or returns fallback when absent or null. A present value of the
// wrong type throws Error(kInvalidModel) "<where>: field \"key\" ...".
int64_t IntField(const nlohmann::json& obj, const std::string& key, int64_t fallback, const std::string& where);
double NumberField(const nlohmann::json& obj, const std::string& key, double fallback, const std::string& where);
std::string StringField(const nlohmann::json& obj, const std::string& key, const std::string& fallback,
                        const std::string& where);
// Like IntField, and the value (given or fallback) must lie in [min, max]; outside it is
// Error(kInvalidModel) "<where>: field \"key\" is V, outside the supported range MIN..MAX".
// Model files are input like any other: the bounds keep every size derived from them
// (element counts, byte sizes, buffers) far from overflow and from absurd allocations.
int64_t IntFieldInRange(const nlohmann::json& obj, const std::string& key, int64_t fallback, int64_t min, int64_t max,
                        const std::string& where);
// Like IntField but the field must be present and positive.
int64_t RequiredPositiveInt(const nlohmann::json& obj, const std::string& key, const std::string& where);

}  // namespace mms::io
