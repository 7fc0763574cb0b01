#include "models/model_family.h"

#include "base/error.h"
#include "io/json_config.h"

namespace mms::models {

const char* ModelFamilyName(ModelFamily family) {
  switch (family) {
    case ModelFamily::kClip: return "clip";
  }
  return "unknown";
}

ModelFamily ParseModelFamily(const std::string& name) {
  if (name == "clip") return ModelFamily::kClip;
  ThrowInvalidModel("unknown model family \"" + name + "\" (supported: clip)");
}

ModelFamily DetectModelFamily(const std::string& dir) {
  const std::string path = dir + "/config.json";
  const nlohmann::json j = io::LoadJsonFile(path);
  const std::string model_type = io::StringField(j, "model_type", "", path);
  if (model_type == "clip") return ModelFamily::kClip;
  if (j.contains("architectures") && j["architectures"].is_array()) {
    for (const auto& a : j["architectures"]) {
      if (a == "CLIPModel") return ModelFamily::kClip;
    }
  }
  ThrowInvalidModel(path + ": model_type \"" + model_type + "\" is not a family mmserve serves (supported: clip)");
}

}  // namespace mms::models
