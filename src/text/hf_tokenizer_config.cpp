#include "text/hf_tokenizer_config.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "base/error.h"
#include "base/file_util.h"

namespace mms::text {
namespace {

constexpr uintmax_t kMaxConfigBytes = 16u << 20;

std::string TokenString(const nlohmann::json& config, const char* key, const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  ThrowInvalidModel(where + "." + key + ": expected a string or {\"content\": string}");
}

bool Flag(const nlohmann::json& config, const char* key, const std::string& where, bool fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) ThrowInvalidModel(where + "." + key + ": expected true or false");
  return it->get<bool>();
}

}  // namespace

TokenizerConfig LoadTokenizerConfig(const std::string& path) {
  TokenizerConfig config;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return config;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxConfigBytes) {
    ThrowInvalidModel(path + ": " + std::to_string(size) + " bytes, over the cap of " + std::to_string(kMaxConfigBytes));
  }
  const std::string text = ReadFileBytes(path);
  if (text.size() > kMaxConfigBytes) ThrowInvalidModel(path + ": over the cap of " + std::to_string(kMaxConfigBytes) + " bytes");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > 64) throw Error(ErrorCode::kInvalidModel, "nested deeper than 64 levels");
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    ThrowInvalidModel(path + ": not valid JSON: " + e.what());
  } catch (const Error& e) {
    ThrowInvalidModel(path + ": " + e.what());
  }
  if (!json.is_object()) ThrowInvalidModel(path + ": expected a JSON object");
  config.bos_token = TokenString(json, "bos_token", path);
  config.eos_token = TokenString(json, "eos_token", path);
  config.add_bos_token = Flag(json, "add_bos_token", path, config.add_bos_token);
  config.add_eos_token = Flag(json, "add_eos_token", path, config.add_eos_token);
  const auto tmpl = json.find("chat_template");
  if (tmpl != json.end() && !tmpl->is_null()) {
    if (tmpl->is_string()) {
      config.chat_template = tmpl->get<std::string>();
    } else if (tmpl->is_array()) {
      const nlohmann::json* chosen = nullptr;
      for (const auto& entry : *tmpl) {
        if (!entry.is_object() || !entry.contains("template") || !entry["template"].is_string()) {
          ThrowInvalidModel(path + ".chat_template: each entry must be {\"name\": ..., \"template\": string}");
        }
        if (chosen == nullptr) chosen = &entry;
        const auto name = entry.find("name");
        if (name != entry.end() && name->is_string() && name->get<std::string>() == "default") chosen = &entry;
      }
      if (chosen != nullptr) config.chat_template = (*chosen)["template"].get<std::string>();
    } else {
      ThrowInvalidModel(path + ".chat_template: expected a string or a list of {name, template}");
    }
  }
  return config;
}

}  // namespace mms::text
