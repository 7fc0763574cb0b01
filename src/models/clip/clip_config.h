// CLIPConfig as Hugging Face writes it in config.json (text_config / vision_config).
// Every size comes from the file, so ViT-B/32, B/16, L/14 and L/14-336 need no code.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "engine/ops/activation.h"

namespace mms::models {

// The largest configuration FromFile accepts. Far beyond any published CLIP (ViT-bigG:
// hidden 1664, 48 layers, 16 heads; text vocab 49408, 77 positions), and small enough that
// every size derived from them (vocab x hidden elements, their bytes, a layer's buffers)
// stays far from 64-bit overflow. A config.json beyond one is refused naming the field.
struct ClipConfigLimits {
  static constexpr int64_t kMaxHiddenSize = 65536;
  static constexpr int64_t kMaxIntermediateSize = 262144;
  static constexpr int64_t kMaxLayers = 1024;
  static constexpr int64_t kMaxHeads = 1024;
  static constexpr int64_t kMaxVocabSize = 4194304;        // 2^22
  static constexpr int64_t kMaxPositions = 65536;          // text max_position_embeddings
  static constexpr int64_t kMaxImageSize = 4096;
  static constexpr int64_t kMaxPatchGrid = 128;            // image_size / patch_size: 16384 patches
  static constexpr int64_t kMaxProjectionDim = 65536;
};

struct ClipTowerConfig {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  ops::Activation activation = ops::Activation::kQuickGelu;
  float layer_norm_eps = 1e-5f;
};

struct ClipVisionConfig : ClipTowerConfig {
  int64_t image_size = 224;
  int64_t patch_size = 32;
  int64_t num_channels = 3;
  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
};

// Reads a vision_config object (CLIPVisionConfig): fields absent from `j` take `defaults`.
// `where` names the file and object in errors. LLaVA reads its vision tower this way.
ClipVisionConfig ReadClipVisionConfig(const nlohmann::json& j, const std::string& where,
                                      const ClipVisionConfig& defaults);
// transformers' CLIPVisionConfig defaults (ViT-B/32 at 224 px).
ClipVisionConfig DefaultClipVisionConfig();

struct ClipTextConfig : ClipTowerConfig {
  int64_t vocab_size = 49408;
  int64_t max_positions = 77;
};

struct ClipConfig {
  ClipVisionConfig vision;
  ClipTextConfig text;
  int64_t projection_dim = 512;

  static ClipConfig FromFile(const std::string& path);
};

}  // namespace mms::models
