#include "models/llava/llava_config.h"

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/json_config.h"

namespace mms::models {

namespace {

// transformers' LlavaConfig builds this CLIPVisionConfig when vision_config is absent,
// and CLIPVisionConfig's own defaults fill the fields a present one leaves out.
ClipVisionConfig LlavaDefaultVision() {
  ClipVisionConfig v = DefaultClipVisionConfig();
  v.hidden_size = 1024;
  v.intermediate_size = 4096;
  v.num_layers = 24;
  v.num_heads = 16;
  v.image_size = 336;
  v.patch_size = 14;
  return v;
}

const nlohmann::json& ObjectField(const nlohmann::json& j, const char* key, const std::string& path) {
  static const nlohmann::json empty = nlohmann::json::object();
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return empty;
  if (!it->is_object()) ThrowInvalidModel(path + ": field \"" + key + "\" must be an object");
  return *it;
}

}  // namespace

LlavaConfig LlavaConfig::FromFile(const std::string& path) {
  const nlohmann::json j = io::LoadJsonFile(path);
  if (!j.is_object()) ThrowInvalidModel(path + ": not a JSON object");
  LlavaConfig c;

  const nlohmann::json& vision = ObjectField(j, "vision_config", path);
  const bool vision_given = j.contains("vision_config") && !j["vision_config"].is_null();
  const std::string vision_type = io::StringField(vision, "model_type", "clip_vision_model", path + " vision_config");
  if (vision_type != "clip_vision_model") {
    ThrowInvalidModel(path + ": vision_config model_type is \"" + vision_type +
                      "\"; only CLIP vision towers (clip_vision_model) are supported");
  }
  c.vision = ReadClipVisionConfig(vision, path + " vision_config",
                                  vision_given ? DefaultClipVisionConfig() : LlavaDefaultVision());
  c.text = LlamaConfig::FromJson(ObjectField(j, "text_config", path), path + " text_config", /*unnamed_is_llama=*/true);

  // Newer transformers write image_token_id, older image_token_index.
  const char* token_key = j.contains("image_token_id") && !j["image_token_id"].is_null() ? "image_token_id"
                                                                                         : "image_token_index";
  c.image_token_id = static_cast<int32_t>(io::IntFieldInRange(j, token_key, 32000, 0, c.text.vocab_size - 1, path));

  const std::string act = io::StringField(j, "projector_hidden_act", "gelu", path);
  if (act != "gelu") {
    ThrowInvalidModel(path + ": field \"projector_hidden_act\" is \"" + act + "\"; only \"gelu\" is supported");
  }
  c.projector_bias = true;
  if (j.contains("multimodal_projector_bias") && !j["multimodal_projector_bias"].is_null()) {
    if (!j["multimodal_projector_bias"].is_boolean()) {
      ThrowInvalidModel(path + ": field \"multimodal_projector_bias\" must be true or false");
    }
    c.projector_bias = j["multimodal_projector_bias"].get<bool>();
  }

  if (j.contains("vision_feature_layer") && j["vision_feature_layer"].is_array()) {
    ThrowInvalidModel(path + ": field \"vision_feature_layer\" is a list; only a single layer is supported");
  }
  const int64_t layers = c.vision.num_layers;
  const int64_t layer = io::IntFieldInRange(j, "vision_feature_layer", -2, -(layers + 1), layers, path);
  c.vision_feature_layer = layer < 0 ? layers + 1 + layer : layer;

  const std::string select = io::StringField(j, "vision_feature_select_strategy", "default", path);
  if (select == "default") {
    c.feature_select = VisionFeatureSelect::kDefault;
  } else if (select == "full") {
    c.feature_select = VisionFeatureSelect::kFull;
  } else {
    ThrowInvalidModel(path + ": field \"vision_feature_select_strategy\" is \"" + select +
                      "\"; expected \"default\" or \"full\"");
  }

  const int64_t positions = c.vision.num_patches() + (c.feature_select == VisionFeatureSelect::kFull ? 1 : 0);
  c.image_seq_length = io::IntField(j, "image_seq_length", positions, path);
  if (c.image_seq_length != positions) {
    ThrowInvalidModel(path + ": field \"image_seq_length\" is " + std::to_string(c.image_seq_length) +
                      ", but the vision tower gives " + std::to_string(positions) + " positions per image (" +
                      std::to_string(c.vision.num_patches()) + " patches, strategy \"" + select + "\")");
  }
  if (c.image_seq_length >= c.text.max_position_embeddings) {
    ThrowInvalidModel(path + ": one image takes " + std::to_string(c.image_seq_length) +
                      " positions, the language model has only " + std::to_string(c.text.max_position_embeddings));
  }
  return c;
}

}  // namespace mms::models
