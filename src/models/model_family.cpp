#include "models/model_family.h"

#include <algorithm>

#include "base/error.h"
#include "io/json_config.h"
#include "models/generative_model.h"
#include "models/llama/llama_family.h"
#include "models/llava/llava_family.h"
#include "models/whisper/whisper_family.h"

namespace mms::models {

const std::vector<FamilyInfo>& Families() {
  // One entry per family.
  static const std::vector<FamilyInfo> families = [] {
    std::vector<FamilyInfo> f;
    f.push_back({ModelFamily::kClip, "clip", SchedulingKind::kEncoderBatching, {"clip"}, {"CLIPModel"}, nullptr});
    f.push_back(llama::FamilyEntry());
    f.push_back(llava::FamilyEntry());
    f.push_back(whisper::FamilyEntry());
    return f;
  }();
  return families;
}

namespace {

std::string SupportedNames() {
  std::string names;
  for (const auto& f : Families()) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

}  // namespace

const FamilyInfo& FamilyOf(ModelFamily family) {
  for (const auto& f : Families()) {
    if (f.family == family) return f;
  }
  ThrowInternal("model family without a registry entry");
}

const char* ModelFamilyName(ModelFamily family) { return FamilyOf(family).name; }

ModelFamily ParseModelFamily(const std::string& name) {
  for (const auto& f : Families()) {
    if (name == f.name) return f.family;
  }
  ThrowInvalidModel("unknown model family \"" + name + "\" (supported: " + SupportedNames() + ")");
}

ModelFamily DetectModelFamily(const std::string& dir) {
  const std::string path = dir + "/config.json";
  const nlohmann::json j = io::LoadJsonFile(path);
  const std::string model_type = io::StringField(j, "model_type", "", path);
  const auto contains = [](const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  };
  for (const auto& f : Families()) {
    if (!model_type.empty() && contains(f.model_types, model_type)) return f.family;
  }
  if (j.contains("architectures") && j["architectures"].is_array()) {
    for (const auto& a : j["architectures"]) {
      if (!a.is_string()) continue;
      for (const auto& f : Families()) {
        if (contains(f.architectures, a.get<std::string>())) return f.family;
      }
    }
  }
  ThrowInvalidModel(path + ": model_type \"" + model_type + "\" is not a family mmserve serves (supported: " +
                    SupportedNames() + ")");
}

}  // namespace mms::models
