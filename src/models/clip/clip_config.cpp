#include "models/clip/clip_config.h"

#include "base/error.h"
#include "io/json_config.h"

namespace mms::models {

namespace {

// Defaults are those of transformers' CLIPTextConfig / CLIPVisionConfig, used when a
// field is absent (older checkpoints omit some).
using L = ClipConfigLimits;

void ReadTower(const nlohmann::json& j, const std::string& where, ClipTowerConfig defaults, ClipTowerConfig* out) {
  out->hidden_size = io::IntFieldInRange(j, "hidden_size", defaults.hidden_size, 1, L::kMaxHiddenSize, where);
  out->intermediate_size =
      io::IntFieldInRange(j, "intermediate_size", defaults.intermediate_size, 1, L::kMaxIntermediateSize, where);
  out->num_layers = io::IntFieldInRange(j, "num_hidden_layers", defaults.num_layers, 1, L::kMaxLayers, where);
  out->num_heads = io::IntFieldInRange(j, "num_attention_heads", defaults.num_heads, 1, L::kMaxHeads, where);
  const double eps = io::NumberField(j, "layer_norm_eps", 1e-5, where);
  // NaN or a non-positive epsilon would turn every embedding into NaN without an error.
  if (!(eps > 0.0 && eps < 1.0)) {
    ThrowInvalidModel(where + ": field \"layer_norm_eps\" is " + std::to_string(eps) + ", must be in (0, 1)");
  }
  out->layer_norm_eps = static_cast<float>(eps);
  try {
    out->activation = ops::ParseActivation(io::StringField(j, "hidden_act", "quick_gelu", where));
  } catch (const Error& e) {
    ThrowInvalidModel(where + ": " + e.what());
  }
  if (out->hidden_size % out->num_heads != 0) {
    ThrowInvalidModel(where + ": hidden_size " + std::to_string(out->hidden_size) +
                      " is not divisible by num_attention_heads " + std::to_string(out->num_heads));
  }
}

}  // namespace

ClipVisionConfig DefaultClipVisionConfig() {
  ClipVisionConfig v;
  static_cast<ClipTowerConfig&>(v) = {768, 3072, 12, 12, ops::Activation::kQuickGelu, 1e-5f};
  v.image_size = 224;
  v.patch_size = 32;
  v.num_channels = 3;
  return v;
}

ClipVisionConfig ReadClipVisionConfig(const nlohmann::json& vision, const std::string& where,
                                      const ClipVisionConfig& defaults) {
  ClipVisionConfig v;
  ReadTower(vision, where, defaults, &v);
  v.image_size = io::IntFieldInRange(vision, "image_size", defaults.image_size, 1, L::kMaxImageSize, where);
  v.patch_size = io::IntFieldInRange(vision, "patch_size", defaults.patch_size, 1, v.image_size, where);
  v.num_channels = io::IntField(vision, "num_channels", defaults.num_channels, where);
  if (v.image_size % v.patch_size != 0) {
    ThrowInvalidModel(where + ": image_size " + std::to_string(v.image_size) +
                      " must be a positive multiple of patch_size " + std::to_string(v.patch_size));
  }
  if (v.image_size / v.patch_size > L::kMaxPatchGrid) {
    ThrowInvalidModel(where + ": image_size / patch_size is " + std::to_string(v.image_size / v.patch_size) +
                      ", over the supported " + std::to_string(L::kMaxPatchGrid) + " patches per side");
  }
  if (v.num_channels != 3) ThrowInvalidModel(where + ": only num_channels 3 is supported");
  return v;
}

ClipConfig ClipConfig::FromFile(const std::string& path) {
  const nlohmann::json j = io::LoadJsonFile(path);
  if (!j.is_object()) ThrowInvalidModel(path + ": not a JSON object");
  ClipConfig c;
  c.projection_dim = io::IntFieldInRange(j, "projection_dim", 512, 1, L::kMaxProjectionDim, path);

  const nlohmann::json empty = nlohmann::json::object();
  const auto& text = j.contains("text_config") && j["text_config"].is_object() ? j["text_config"] : empty;
  const auto& vision = j.contains("vision_config") && j["vision_config"].is_object() ? j["vision_config"] : empty;
  if (j.contains("text_config") && !j["text_config"].is_object()) ThrowInvalidModel(path + ": text_config must be an object");
  if (j.contains("vision_config") && !j["vision_config"].is_object()) ThrowInvalidModel(path + ": vision_config must be an object");

  ReadTower(text, path + " text_config", {512, 2048, 12, 8, ops::Activation::kQuickGelu, 1e-5f}, &c.text);
  c.text.vocab_size = io::IntFieldInRange(text, "vocab_size", 49408, 1, L::kMaxVocabSize, path + " text_config");
  c.text.max_positions =
      io::IntFieldInRange(text, "max_position_embeddings", 77, 2, L::kMaxPositions, path + " text_config");

  c.vision = ReadClipVisionConfig(vision, path + " vision_config", DefaultClipVisionConfig());
  return c;
}

}  // namespace mms::models
