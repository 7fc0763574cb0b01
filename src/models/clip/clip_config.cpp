#include "models/clip/clip_config.h"

#include "base/error.h"
#include "io/json_config.h"

namespace mms::models {

namespace {

// Defaults are those of transformers' CLIPTextConfig / CLIPVisionConfig, used when a
// field is absent (older checkpoints omit some).
void ReadTower(const nlohmann::json& j, const std::string& where, ClipTowerConfig defaults, ClipTowerConfig* out) {
  out->hidden_size = io::IntField(j, "hidden_size", defaults.hidden_size, where);
  out->intermediate_size = io::IntField(j, "intermediate_size", defaults.intermediate_size, where);
  out->num_layers = io::IntField(j, "num_hidden_layers", defaults.num_layers, where);
  out->num_heads = io::IntField(j, "num_attention_heads", defaults.num_heads, where);
  out->layer_norm_eps = static_cast<float>(io::NumberField(j, "layer_norm_eps", 1e-5, where));
  try {
    out->activation = ops::ParseActivation(io::StringField(j, "hidden_act", "quick_gelu", where));
  } catch (const Error& e) {
    ThrowInvalidModel(where + ": " + e.what());
  }
  if (out->hidden_size <= 0 || out->intermediate_size <= 0 || out->num_layers <= 0 || out->num_heads <= 0) {
    ThrowInvalidModel(where + ": sizes must be positive");
  }
  if (out->hidden_size % out->num_heads != 0) {
    ThrowInvalidModel(where + ": hidden_size " + std::to_string(out->hidden_size) +
                      " is not divisible by num_attention_heads " + std::to_string(out->num_heads));
  }
}

}  // namespace

ClipConfig ClipConfig::FromFile(const std::string& path) {
  const nlohmann::json j = io::LoadJsonFile(path);
  if (!j.is_object()) ThrowInvalidModel(path + ": not a JSON object");
  ClipConfig c;
  c.projection_dim = io::IntField(j, "projection_dim", 512, path);
  if (c.projection_dim <= 0) ThrowInvalidModel(path + ": projection_dim must be positive");

  const nlohmann::json empty = nlohmann::json::object();
  const auto& text = j.contains("text_config") && j["text_config"].is_object() ? j["text_config"] : empty;
  const auto& vision = j.contains("vision_config") && j["vision_config"].is_object() ? j["vision_config"] : empty;
  if (j.contains("text_config") && !j["text_config"].is_object()) ThrowInvalidModel(path + ": text_config must be an object");
  if (j.contains("vision_config") && !j["vision_config"].is_object()) ThrowInvalidModel(path + ": vision_config must be an object");

  ReadTower(text, path + " text_config", {512, 2048, 12, 8, ops::Activation::kQuickGelu, 1e-5f}, &c.text);
  c.text.vocab_size = io::IntField(text, "vocab_size", 49408, path + " text_config");
  c.text.max_positions = io::IntField(text, "max_position_embeddings", 77, path + " text_config");
  if (c.text.vocab_size <= 0 || c.text.max_positions <= 1) ThrowInvalidModel(path + " text_config: bad vocab_size or max_position_embeddings");

  ReadTower(vision, path + " vision_config", {768, 3072, 12, 12, ops::Activation::kQuickGelu, 1e-5f}, &c.vision);
  c.vision.image_size = io::IntField(vision, "image_size", 224, path + " vision_config");
  c.vision.patch_size = io::IntField(vision, "patch_size", 32, path + " vision_config");
  c.vision.num_channels = io::IntField(vision, "num_channels", 3, path + " vision_config");
  if (c.vision.patch_size <= 0 || c.vision.image_size <= 0 || c.vision.image_size % c.vision.patch_size != 0) {
    ThrowInvalidModel(path + " vision_config: image_size " + std::to_string(c.vision.image_size) +
                      " must be a positive multiple of patch_size " + std::to_string(c.vision.patch_size));
  }
  if (c.vision.num_channels != 3) ThrowInvalidModel(path + " vision_config: only num_channels 3 is supported");
  return c;
}

}  // namespace mms::models
